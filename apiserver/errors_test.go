package apiserver_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/apiserver/auth"
	"github.com/navarch/navarch/internal/testserver"
)

func TestBadRequestsGetKubernetesStatusErrorsAndTheServerKeepsServing(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	admin := rawClient(t, srv, srv.AdminToken())
	cs := srv.ClientSet()
	pod, err := cs.CoreV1().Pods("default").Create(ctx, newPod("default", "existing"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	viewer := rawClient(t, srv, srv.AddToken("viewer", auth.ViewGroup))
	node := rawClient(t, srv, srv.NodeToken("node-a"))
	anonymous := rawClient(t, srv, "")
	for _, n := range []string{"node-a", "node-b"} {
		if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	stale := pod.DeepCopy()
	stale.ResourceVersion = "1"
	stale.Labels["x"] = "y"
	tooBig := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"x":"` + strings.Repeat("a", 3<<20) + `"}}`

	pods := "/api/v1/namespaces/default/pods"
	tests := []struct {
		name     string
		client   *httpClient
		method   string
		path     string
		body     string
		headers  []string
		code     int
		reason   metav1.StatusReason
		contains []string
	}{
		{name: "malformed JSON is a 400 with the decoder's message", client: admin, method: "POST", path: pods,
			body: `{"apiVersion":"v1","kind":"Pod",`, code: 400, reason: metav1.StatusReasonBadRequest,
			contains: []string{"unexpected end of JSON input"}},
		{name: "malformed YAML is a 400 with the decoder's message", client: admin, method: "POST", path: pods,
			body: "apiVersion: v1\nkind: Pod\nmetadata: [\n", headers: []string{"Content-Type", "application/yaml"},
			code: 400, reason: metav1.StatusReasonBadRequest, contains: []string{"yaml"}},
		{name: "a body of another kind is a 400", client: admin, method: "POST", path: pods,
			body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`, code: 400, reason: metav1.StatusReasonBadRequest,
			contains: []string{"ConfigMap", "Pod"}},
		{name: "an unknown resource is a 404", client: admin, method: "GET", path: "/api/v1/namespaces/default/widgets",
			code: 404, reason: metav1.StatusReasonNotFound, contains: []string{"the server could not find the requested resource"}},
		{name: "an unknown group is a 404", client: admin, method: "GET", path: "/apis/example.com/v1/widgets",
			code: 404, reason: metav1.StatusReasonNotFound},
		{name: "a missing object is a 404 naming it", client: admin, method: "GET", path: pods + "/nope",
			code: 404, reason: metav1.StatusReasonNotFound, contains: []string{`pods "nope" not found`}},
		{name: "an object in a missing namespace is a 404 naming the namespace", client: admin, method: "POST",
			path: "/api/v1/namespaces/nowhere/configmaps", body: `{"metadata":{"name":"c"}}`,
			code: 404, reason: metav1.StatusReasonNotFound, contains: []string{`namespaces "nowhere" not found`}},
		{name: "an invalid object is a 422 listing every cause", client: admin, method: "POST", path: "/api/v1/namespaces/default/configmaps",
			body: `{"metadata":{"name":"Bad_Name","labels":{"bad key!":"v"}}}`, code: 422, reason: metav1.StatusReasonInvalid,
			contains: []string{`ConfigMap "Bad_Name" is invalid`, "metadata.name", "metadata.labels"}},
		{name: "a stale update is a 409 conflict", client: admin, method: "PUT", path: pods + "/existing",
			body: string(mustJSON(t, stale)), code: 409, reason: metav1.StatusReasonConflict,
			contains: []string{"the object has been modified"}},
		{name: "creating an existing name is a 409 AlreadyExists", client: admin, method: "POST", path: pods,
			body: string(mustJSON(t, newPod("default", "existing"))), code: 409, reason: metav1.StatusReasonAlreadyExists,
			contains: []string{`pods "existing" already exists`}},
		{name: "no token is a 401", client: anonymous, method: "GET", path: pods,
			code: 401, reason: metav1.StatusReasonUnauthorized},
		{name: "a wrong token is a 401", client: rawClient(t, srv, "not-a-token"), method: "GET", path: pods,
			code: 401, reason: metav1.StatusReasonUnauthorized},
		{name: "a view token writing is a 403", client: viewer, method: "POST", path: pods,
			body: string(mustJSON(t, newPod("default", "v"))), code: 403, reason: metav1.StatusReasonForbidden,
			contains: []string{`User "viewer" cannot create resource "pods"`}},
		{name: "a node token touching another node is a 403", client: node, method: "PATCH", path: "/api/v1/nodes/node-b",
			body: `{"metadata":{"labels":{"x":"y"}}}`, headers: []string{"Content-Type", "application/merge-patch+json"},
			code: 403, reason: metav1.StatusReasonForbidden, contains: []string{`User "system:node:node-a" cannot patch resource "nodes"`}},
		{name: "a node writing the status of a pod not bound to it is a 403", client: node, method: "PATCH", path: pods + "/existing/status",
			body: `{"status":{"message":"x"}}`, headers: []string{"Content-Type", "application/merge-patch+json"},
			code: 403, reason: metav1.StatusReasonForbidden, contains: []string{"node-a"}},
		{name: "a body over 3 MiB is a 413", client: admin, method: "POST", path: "/api/v1/namespaces/default/configmaps",
			body: tooBig, code: 413, reason: metav1.StatusReasonRequestEntityTooLarge, contains: []string{"limit is 3145728"}},
		{name: "a client accepting only protobuf for a kind without it gets 406", client: admin, method: "GET",
			path:    "/apis/gitops.navarch.dev/v1alpha1/namespaces/default/sources",
			headers: []string{"Accept", "application/vnd.kubernetes.protobuf"}, code: 406, reason: metav1.StatusReasonNotAcceptable},
		{name: "a client accepting only YAML gets YAML errors too", client: admin, method: "GET", path: pods + "/nope",
			headers: []string{"Accept", "application/yaml"}, code: 404, reason: metav1.StatusReasonNotFound},
		{name: "a body of an unknown media type is a 415", client: admin, method: "POST", path: pods,
			body: "x", headers: []string{"Content-Type", "text/plain"}, code: 415, reason: metav1.StatusReasonUnsupportedMediaType},
		{name: "an unknown field with fieldValidation=Strict is a 400 naming it", client: admin, method: "POST",
			path: "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
			body: `{"metadata":{"name":"strict"},"spec":{"foo":1},"data":{"a":"b"}}`, code: 400, reason: metav1.StatusReasonBadRequest,
			contains: []string{`strict decoding error: unknown field "spec"`}},
		{name: "a duplicate field with fieldValidation=Strict is a 400 naming it", client: admin, method: "POST",
			path: "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
			body: `{"metadata":{"name":"dup"},"data":{"a":"b"},"data":{"a":"c"}}`, code: 400, reason: metav1.StatusReasonBadRequest,
			contains: []string{`duplicate field "data"`}},
		{name: "a create across all namespaces is a 405", client: admin, method: "POST", path: "/api/v1/pods",
			body: string(mustJSON(t, newPod("default", "x"))), code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "a create with a resourceVersion is a 400", client: admin, method: "POST", path: "/api/v1/namespaces/default/configmaps",
			body: `{"metadata":{"name":"rv","resourceVersion":"5"}}`, code: 400, reason: metav1.StatusReasonBadRequest,
			contains: []string{"resourceVersion should not be set on objects to be created"}},
		{name: "a bad dryRun value is a 400", client: admin, method: "POST", path: pods + "?dryRun=Some",
			body: string(mustJSON(t, newPod("default", "d"))), code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "a field manager over 128 characters is a 400", client: admin, method: "POST",
			path: "/api/v1/namespaces/default/configmaps?fieldManager=" + strings.Repeat("m", 129), body: `{"metadata":{"name":"fm"}}`,
			code: 400, reason: metav1.StatusReasonBadRequest, contains: []string{"fieldManager: Too long: may not be longer than 128"}},
		{name: "a field manager with an unprintable character is a 400 on a namespace's finalize too", client: admin, method: "PUT",
			path: "/api/v1/namespaces/default/finalize?fieldManager=a%07b", body: `{"metadata":{"name":"default"}}`,
			code: 400, reason: metav1.StatusReasonBadRequest, contains: []string{"fieldManager: Invalid value", "must only contain printable characters"}},
		{name: "a field manager over 128 characters is a 400 on a scale update too", client: admin, method: "PUT",
			path: "/apis/apps/v1/namespaces/default/deployments/web/scale?fieldManager=" + strings.Repeat("m", 129),
			body: `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web"},"spec":{"replicas":2}}`,
			code: 400, reason: metav1.StatusReasonBadRequest, contains: []string{"fieldManager: Too long"}},
		{name: "a resourceVersion beyond any revision is a 400", client: admin, method: "GET", path: pods + "?resourceVersion=99999999999999999999",
			code: 400, reason: metav1.StatusReasonBadRequest, contains: []string{"invalid resource version"}},
		{name: "a bad label selector is a 400", client: admin, method: "GET", path: pods + "?labelSelector=a%20in%20(",
			code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "a field selector on an unselectable field is a 400", client: admin, method: "GET", path: pods + "?fieldSelector=spec.foo%3Dx",
			code: 400, reason: metav1.StatusReasonBadRequest, contains: []string{"field label not supported: spec.foo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			resp := tt.client.do(tt.method, tt.path, body, tt.headers...)
			if resp.code != tt.code {
				t.Fatalf("got %d %s, want %d", resp.code, resp.body, tt.code)
			}
			st := resp.status(t)
			if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure || int(st.Code) != tt.code {
				t.Errorf("got %s, want a v1 Status of failure with code %d", resp.body, tt.code)
			}
			if st.Reason != tt.reason {
				t.Errorf("reason: got %q, want %q (%s)", st.Reason, tt.reason, st.Message)
			}
			for _, want := range tt.contains {
				if !strings.Contains(st.Message, want) {
					t.Errorf("message: got %q, want it to contain %q", st.Message, want)
				}
			}
			// The server keeps serving.
			if r := admin.do("GET", "/api/v1/namespaces/default", nil); r.code != http.StatusOK {
				t.Errorf("follow-up request: got %d %s, want 200", r.code, r.body)
			}
		})
	}
}

func TestAnInvalidObjectListsEachCauseWithItsField(t *testing.T) {
	srv := testserver.Start(t)
	admin := rawClient(t, srv, srv.AdminToken())
	resp := admin.do("POST", "/api/v1/namespaces/default/configmaps", []byte(`{"metadata":{"name":"Bad_Name","labels":{"bad key!":"v"}}}`))
	st := resp.status(t)
	if st.Details == nil || len(st.Details.Causes) < 2 {
		t.Fatalf("got %s, want details with a cause per field", resp.body)
	}
	fields := map[string]bool{}
	for _, c := range st.Details.Causes {
		fields[c.Field] = true
		if c.Message == "" || c.Type == "" {
			t.Errorf("cause %+v lacks a type or message", c)
		}
	}
	for _, f := range []string{"metadata.name", "metadata.labels"} {
		if !fields[f] {
			t.Errorf("causes %+v: want one for %s", st.Details.Causes, f)
		}
	}
	if st.Details.Name != "Bad_Name" || st.Details.Kind != "ConfigMap" {
		t.Errorf("details: got name %q kind %q, want Bad_Name ConfigMap", st.Details.Name, st.Details.Kind)
	}
}

func TestUnknownFieldsAreWarnedAboutByDefault(t *testing.T) {
	srv := testserver.Start(t)
	admin := rawClient(t, srv, srv.AdminToken())
	resp := admin.do("POST", "/api/v1/namespaces/default/configmaps", []byte(`{"metadata":{"name":"warned"},"data":{"a":"b"},"extra":1}`))
	if resp.code != http.StatusCreated {
		t.Fatalf("got %d %s, want 201", resp.code, resp.body)
	}
	if got := resp.header.Get("Warning"); got != `299 - "unknown field \"extra\""` {
		t.Errorf("Warning header: got %q, want 299 - \"unknown field \\\"extra\\\"\"", got)
	}
	resp = admin.do("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore", []byte(`{"metadata":{"name":"ignored"},"extra":1}`))
	if resp.code != http.StatusCreated || resp.header.Get("Warning") != "" {
		t.Errorf("fieldValidation=Ignore: got %d with Warning %q, want 201 without", resp.code, resp.header.Get("Warning"))
	}
}

func TestABodyOverTheLimitWithoutAContentLengthIsA413(t *testing.T) {
	srv := testserver.Start(t)
	admin := rawClient(t, srv, srv.AdminToken())
	// A reader of unknown length: the body is streamed, not announced.
	body := io.MultiReader(strings.NewReader(`{"metadata":{"name":"big"},"data":{"x":"`),
		strings.NewReader(strings.Repeat("a", 3<<20)), strings.NewReader(`"}}`))
	req, err := http.NewRequest("POST", srv.URL()+"/api/v1/namespaces/default/configmaps", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.AdminToken())
	req.Header.Set("Content-Type", "application/json")
	resp, err := admin.client.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if req.ContentLength != 0 || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d %s for a body of length %d, want 413 for a body of unknown length", resp.StatusCode, data, req.ContentLength)
	}
	if r := admin.do("GET", "/api/v1/namespaces/default/configmaps/big", nil); r.code != http.StatusNotFound {
		t.Errorf("after the 413: got %d %s, want 404 (nothing stored, the server serving)", r.code, r.body)
	}
}
