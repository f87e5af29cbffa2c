package apiserver_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"

	"github.com/navarch/navarch/internal/testserver"
)

const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

func TestGetAndListAnswerTablesForKubectl(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	for _, name := range []string{"a", "b"} {
		if _, err := srv.ClientSet().CoreV1().Pods("default").Create(ctx, newPod("default", name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	admin := rawClient(t, srv, srv.AdminToken())
	tests := []struct {
		name, path, accept, apiVersion string
		rows                           int
	}{
		{"a list as a v1 table", "/api/v1/namespaces/default/pods", tableAccept, "meta.k8s.io/v1", 2},
		{"one object as a v1 table", "/api/v1/namespaces/default/pods/a", tableAccept, "meta.k8s.io/v1", 1},
		{"a list as a v1beta1 table", "/api/v1/namespaces/default/pods", "application/json;as=Table;v=v1beta1;g=meta.k8s.io", "meta.k8s.io/v1beta1", 2},
		{"namespaces across the cluster", "/api/v1/namespaces", tableAccept, "meta.k8s.io/v1", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := admin.do("GET", tt.path, nil, "Accept", tt.accept)
			if resp.code != http.StatusOK {
				t.Fatalf("got %d %s", resp.code, resp.body)
			}
			var table metav1.Table
			if err := json.Unmarshal(resp.body, &table); err != nil {
				t.Fatal(err)
			}
			if table.Kind != "Table" || table.APIVersion != tt.apiVersion {
				t.Errorf("got %s %s, want Table %s", table.Kind, table.APIVersion, tt.apiVersion)
			}
			if len(table.ColumnDefinitions) == 0 || table.ColumnDefinitions[0].Name != "Name" {
				t.Errorf("columns: got %+v, want Name first", table.ColumnDefinitions)
			}
			if len(table.Rows) != tt.rows {
				t.Errorf("rows: got %d, want %d", len(table.Rows), tt.rows)
			}
			if table.ResourceVersion == "" {
				t.Error("the table has no resourceVersion")
			}
		})
	}
}

func TestAWatchAsTableSendsColumnsWithTheFirstEventOnly(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	pods := srv.ClientSet().CoreV1().Pods("default")
	if _, err := pods.Create(ctx, newPod("default", "a"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	admin := rawClient(t, srv, srv.AdminToken())
	nextEvent := tableWatch(t, admin, "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=10")
	go func() {
		time.Sleep(100 * time.Millisecond)
		_, _ = pods.Create(ctx, newPod("default", "b"), metav1.CreateOptions{})
	}()
	for i := 0; i < 2; i++ {
		ev := nextEvent(i)
		if ev.Type != "ADDED" || ev.Object.Kind != "Table" || len(ev.Object.Rows) != 1 {
			t.Errorf("event %d: got %s of %s with %d rows, want ADDED Table with 1 row", i, ev.Type, ev.Object.Kind, len(ev.Object.Rows))
		}
		if hasColumns := len(ev.Object.ColumnDefinitions) > 0; hasColumns != (i == 0) {
			t.Errorf("event %d: has columns %v, want %v", i, hasColumns, i == 0)
		}
	}
}

func TestIncludeObjectShapesTheRowsOfListsAndOfEveryWatchEvent(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	pods := srv.ClientSet().CoreV1().Pods("default")
	if _, err := pods.Create(ctx, newPod("default", "a"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	admin := rawClient(t, srv, srv.AdminToken())
	list := "/api/v1/namespaces/default/pods"
	tests := []struct {
		name, query string
		// kind is the kind of each row's object; "" for none.
		kind string
	}{
		{"the default is each row's metadata", "", "PartialObjectMetadata"},
		{"includeObject=Object embeds the object", "?includeObject=Object", "Pod"},
		{"includeObject=None embeds nothing", "?includeObject=None", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := admin.do("GET", list+tt.query, nil, "Accept", tableAccept)
			if resp.code != http.StatusOK {
				t.Fatalf("got %d %s, want 200", resp.code, resp.body)
			}
			var table metav1.Table
			if err := json.Unmarshal(resp.body, &table); err != nil {
				t.Fatal(err)
			}
			if len(table.Rows) != 1 {
				t.Fatalf("rows: got %d, want 1", len(table.Rows))
			}
			if got := rowKind(t, table.Rows[0]); got != tt.kind {
				t.Errorf("row object: got kind %q, want %q", got, tt.kind)
			}
		})
	}

	t.Run("a bad includeObject is a 400", func(t *testing.T) {
		resp := admin.do("GET", list+"?includeObject=Everything", nil, "Accept", tableAccept)
		if resp.code != http.StatusBadRequest {
			t.Errorf("got %d %s, want 400", resp.code, resp.body)
		}
	})

	t.Run("a watch applies includeObject to every event", func(t *testing.T) {
		nextEvent := tableWatch(t, admin, list+"?watch=true&timeoutSeconds=10&includeObject=Object")
		go func() {
			time.Sleep(100 * time.Millisecond)
			_, _ = pods.Create(ctx, newPod("default", "b"), metav1.CreateOptions{})
		}()
		for i := 0; i < 2; i++ {
			ev := nextEvent(i)
			if len(ev.Object.Rows) != 1 || rowKind(t, ev.Object.Rows[0]) != "Pod" {
				t.Errorf("event %d: got %d rows, want one row embedding the Pod", i, len(ev.Object.Rows))
			}
		}
	})
}

// tableEvent is one event of a watch answered in Tables.
type tableEvent struct {
	Type   string
	Object metav1.Table
}

// tableWatch opens a watch at path asking for Tables and returns a function
// reading its next event (the i-th, for messages); the stream closes when
// the test ends.
func tableWatch(t *testing.T, c *httpClient, path string) func(i int) tableEvent {
	t.Helper()
	req, _ := http.NewRequest("GET", c.srv.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", tableAccept)
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch %s: got %d, want 200", path, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return func(i int) tableEvent {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("stream ended after %d events: %v", i, sc.Err())
		}
		var ev tableEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		return ev
	}
}

// rowKind returns the kind of the object a table row embeds, "" for none.
func rowKind(t *testing.T, row metav1.TableRow) string {
	t.Helper()
	if len(row.Object.Raw) == 0 || string(row.Object.Raw) == "null" {
		return ""
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(row.Object.Raw, &tm); err != nil {
		t.Fatalf("row object %s: %v", row.Object.Raw, err)
	}
	return tm.Kind
}

func TestMetadataClientsGetPartialObjectMetadata(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	if _, err := srv.ClientSet().CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cm", Labels: map[string]string{"a": "b"}}, Data: map[string]string{"secret": "x"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mc, err := metadata.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	gvr := corev1.SchemeGroupVersion.WithResource("configmaps")
	list, err := mc.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list metadata: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "cm" || list.Items[0].Labels["a"] != "b" {
		t.Errorf("got %+v, want the metadata of cm", list.Items)
	}
	one, err := mc.Resource(gvr).Namespace("default").Get(ctx, "cm", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get metadata: %v", err)
	}
	if one.Name != "cm" || one.UID == "" {
		t.Errorf("got %q with uid %q, want cm with a uid", one.Name, one.UID)
	}
	w, err := mc.Resource(gvr).Namespace("default").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatalf("watch metadata: %v", err)
	}
	defer w.Stop()
	if err := srv.ClientSet().CoreV1().ConfigMaps("default").Delete(ctx, "cm", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if m, ok := ev.Object.(*metav1.PartialObjectMetadata); !ok || ev.Type != "DELETED" || m.Name != "cm" {
			t.Errorf("got %s %T, want DELETED PartialObjectMetadata of cm", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
}
