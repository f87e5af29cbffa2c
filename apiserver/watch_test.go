package apiserver_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/navarch/navarch/internal/testserver"
)

// rawEvent is one line of a watch stream.
type rawEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// openWatch starts a raw watch and returns its events, read until the
// stream ends.
func openWatch(t *testing.T, srv *testserver.Server, path string) <-chan rawEvent {
	t.Helper()
	c := rawClient(t, srv, srv.AdminToken())
	req, _ := http.NewRequest("GET", srv.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+srv.AdminToken())
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch %s: got %d", path, resp.StatusCode)
	}
	events := make(chan rawEvent, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev rawEvent
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				events <- ev
			}
		}
	}()
	return events
}

func next(t *testing.T, events <-chan rawEvent) rawEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the watch ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return rawEvent{}
}

func TestAWatchFromACompactedRevisionGetsA410ErrorEvent(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	first, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Two more writes: the first change after a's revision is compacted.
	for _, n := range []string{"b", "c"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rev, _ := srv.Store().Revision(ctx)
	if err := srv.Store().Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	events := openWatch(t, srv, "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion="+first.ResourceVersion)
	ev := next(t, events)
	var st metav1.Status
	if err := json.Unmarshal(ev.Object, &st); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "ERROR" || st.Code != 410 || st.Reason != metav1.StatusReasonExpired || st.Kind != "Status" {
		t.Errorf("got %s %s, want an ERROR event with a 410 Expired Status", ev.Type, ev.Object)
	}
	// A list at that revision is a 410 too.
	_, err = cms.List(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if st, ok := err.(interface{ Status() metav1.Status }); !ok || st.Status().Code != 410 {
		t.Errorf("exact list at a compacted revision: got %v, want 410", err)
	}
}

func TestAStreamingListSendsTheStateThenTheInitialEventsEndBookmark(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	for _, n := range []string{"a", "b"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	events := openWatch(t, srv, "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
	for i := 0; i < 2; i++ {
		if ev := next(t, events); ev.Type != "ADDED" {
			t.Fatalf("event %d: got %s, want ADDED", i, ev.Type)
		}
	}
	ev := next(t, events)
	var mark corev1.ConfigMap
	_ = json.Unmarshal(ev.Object, &mark)
	if ev.Type != "BOOKMARK" || mark.Annotations[metav1.InitialEventsAnnotationKey] != "true" || mark.ResourceVersion == "" {
		t.Fatalf("got %s %s, want the initial-events-end BOOKMARK", ev.Type, ev.Object)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, events); ev.Type != "ADDED" {
		t.Errorf("after the bookmark: got %s, want ADDED of c", ev.Type)
	}

	// Without bookmarks allowed, a streaming list is refused.
	c := rawClient(t, srv, srv.AdminToken())
	resp := c.do("GET", "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan", nil)
	if resp.code != http.StatusBadRequest {
		t.Errorf("streaming list without bookmarks: got %d, want 400", resp.code)
	}
}

// TestAStreamingListOfOneNamedObjectSendsIt: kubectl rollout status and
// wait watch one object by a metadata.name field selector this way.
func TestAStreamingListOfOneNamedObjectSendsIt(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	for _, n := range []string{"a", "b"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	events := openWatch(t, srv, "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&fieldSelector=metadata.name%3Db")
	ev := next(t, events)
	var cm corev1.ConfigMap
	_ = json.Unmarshal(ev.Object, &cm)
	if ev.Type != "ADDED" || cm.Name != "b" {
		t.Fatalf("got %s of %q, want ADDED of b", ev.Type, cm.Name)
	}
	if ev := next(t, events); ev.Type != "BOOKMARK" {
		t.Fatalf("got %s, want the initial-events-end BOOKMARK", ev.Type)
	}
}

func TestWatchesSendBookmarksWhenAllowed(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	list, err := srv.ClientSet().CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := srv.ClientSet().CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// A write elsewhere moves the revision past the watch's start: etcd
	// reports progress, and the watch a bookmark, only from then on.
	if _, err := srv.ClientSet().CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type != watch.Bookmark {
			t.Errorf("got %s, want BOOKMARK", ev.Type)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no bookmark within 10s")
	}
}

func TestTheLegacyWatchPathWatchesOneObject(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	for _, n := range []string{"a", "b"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	events := openWatch(t, srv, "/api/v1/watch/namespaces/default/configmaps/b")
	ev := next(t, events)
	var cm corev1.ConfigMap
	_ = json.Unmarshal(ev.Object, &cm)
	if ev.Type != "ADDED" || cm.Name != "b" || cm.Kind != "ConfigMap" || cm.APIVersion != "v1" {
		t.Errorf("got %s of %s %s, want ADDED of ConfigMap b with its kind", ev.Type, cm.Kind, cm.Name)
	}
	if _, err := cms.Patch(ctx, "a", "application/merge-patch+json", []byte(`{"data":{"x":"1"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Patch(ctx, "b", "application/merge-patch+json", []byte(`{"data":{"x":"1"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	ev = next(t, events)
	_ = json.Unmarshal(ev.Object, &cm)
	if ev.Type != "MODIFIED" || cm.Name != "b" {
		t.Errorf("got %s of %s, want MODIFIED of b only", ev.Type, cm.Name)
	}
}

func TestAWatchEndsAfterTimeoutSeconds(t *testing.T) {
	srv := testserver.Start(t)
	start := time.Now()
	events := openWatch(t, srv, "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion="+fmt.Sprint(1))
	for range events {
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
		t.Errorf("the watch ended after %s, want about 1s", d)
	}
}

func TestListsPageWithLimitAndContinue(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	for i := 0; i < 5; i++ {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opts := metav1.ListOptions{Limit: 2}
	pages := 0
	for {
		page, err := cms.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, item := range page.Items {
			names = append(names, item.Name)
		}
		if page.Continue == "" {
			break
		}
		if page.RemainingItemCount == nil {
			t.Error("a page with more to come has no remainingItemCount")
		}
		opts.Continue = page.Continue
	}
	if pages != 3 || len(names) != 5 {
		t.Errorf("got %d pages of %v, want 3 pages of 5 items", pages, names)
	}
	all, err := srv.ClientSet().CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.namespace=default,metadata.name=c3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 1 || all.Items[0].Name != "c3" {
		t.Errorf("all-namespaces list by field: got %d items, want c3", len(all.Items))
	}
	_, err = cms.List(ctx, metav1.ListOptions{Continue: "garbage"})
	if st, ok := err.(interface{ Status() metav1.Status }); !ok || st.Status().Code != 400 {
		t.Errorf("a bad continue token: got %v, want 400", err)
	}
}

func TestAListAtAnExactResourceVersionSeesThePastAndOtherwiseTheNewest(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	first, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		match metav1.ResourceVersionMatch
		want  int
		rv    string
	}{
		{metav1.ResourceVersionMatchExact, 1, first.ResourceVersion},
		{metav1.ResourceVersionMatchNotOlderThan, 2, ""},
	}
	for _, tt := range tests {
		list, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion, ResourceVersionMatch: tt.match})
		if err != nil {
			t.Fatalf("%s: %v", tt.match, err)
		}
		if len(list.Items) != tt.want || list.Continue != "" {
			t.Errorf("%s: got %d items continuing %q, want %d and no continue token", tt.match, len(list.Items), list.Continue, tt.want)
		}
		if tt.rv != "" && list.ResourceVersion != tt.rv {
			t.Errorf("%s: got the list at %s, want it at %s", tt.match, list.ResourceVersion, tt.rv)
		}
	}
}

func TestAKubeletWatchByNodeNameSeesItsPodsOnly(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	kubelet := srv.ClientSetFor(srv.NodeToken("node-a")).CoreV1().Pods("")
	w, err := kubelet.Watch(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-a"})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	bindPod(t, srv, "elsewhere", "node-b")
	bindPod(t, srv, "here", "node-a")
	ev := <-w.ResultChan()
	if p, ok := ev.Object.(*corev1.Pod); !ok || p.Name != "here" {
		t.Errorf("got %s %v, want the pod bound to node-a entering the selection", ev.Type, ev.Object)
	}
	list, err := kubelet.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "here" {
		t.Errorf("list by node: got %d pods, want here only", len(list.Items))
	}
}
