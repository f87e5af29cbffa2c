package apiserver_test

import (
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"sigs.k8s.io/yaml"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/internal/testserver"
)

func TestAnswersComeInTheMediaTypeTheClientPrefers(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	if _, err := srv.ClientSet().CoreV1().Pods("default").Create(ctx, newPod("default", "p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := rawClient(t, srv, srv.AdminToken())
	const typed = "application/vnd.kubernetes.protobuf,application/json"
	tests := []struct {
		name, path, accept, contentType string
	}{
		{"a typed client gets protobuf for Kubernetes' kinds", "/api/v1/namespaces/default/pods", typed, "application/vnd.kubernetes.protobuf"},
		{"and JSON for navarch's own", "/apis/gitops.navarch.dev/v1alpha1/namespaces/default/sources", typed, "application/json"},
		{"YAML when asked", "/api/v1/namespaces/default/pods/p", "application/yaml", "application/yaml"},
		{"JSON by default", "/api/v1/namespaces/default/pods/p", "", "application/json"},
		{"JSON for */*", "/api/v1/namespaces/default/pods/p", "*/*", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.accept != "" {
				headers = []string{"Accept", tt.accept}
			}
			resp := c.do("GET", tt.path, nil, headers...)
			if resp.code != http.StatusOK {
				t.Fatalf("got %d %s", resp.code, resp.body)
			}
			if ct := resp.header.Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type: got %q, want %q", ct, tt.contentType)
			}
		})
	}

	resp := c.do("GET", "/api/v1/namespaces/default/pods", nil, "Accept", typed)
	obj, gvk, err := protobuf.NewSerializer(api.Scheme, api.Scheme).Decode(resp.body, nil, &corev1.PodList{})
	if err != nil {
		t.Fatalf("decode protobuf: %v", err)
	}
	if list := obj.(*corev1.PodList); gvk.Kind != "PodList" || len(list.Items) != 1 || list.Items[0].Name != "p" || list.ResourceVersion == "" {
		t.Errorf("protobuf list: got %s with %d items", gvk, len(list.Items))
	}

	resp = c.do("GET", "/api/v1/namespaces/default/pods/p", nil, "Accept", "application/yaml")
	var pod corev1.Pod
	if err := yaml.Unmarshal(resp.body, &pod); err != nil || pod.Name != "p" || !strings.HasPrefix(string(resp.body), "apiVersion: v1\nkind: Pod\n") {
		t.Errorf("YAML: got %v %q", err, resp.body)
	}
}

func TestRequestBodiesMayBeYAMLOrProtobuf(t *testing.T) {
	srv := testserver.Start(t)
	c := rawClient(t, srv, srv.AdminToken())
	resp := c.do("POST", "/api/v1/namespaces/default/configmaps", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: \"1\"\n"),
		"Content-Type", "application/yaml")
	if resp.code != http.StatusCreated {
		t.Errorf("YAML create: got %d %s", resp.code, resp.body)
	}
	// client-go's typed clients send protobuf.
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Name: "from-protobuf"}}
	var body strings.Builder
	if err := protobuf.NewSerializer(api.Scheme, api.Scheme).Encode(cm, &body); err != nil {
		t.Fatal(err)
	}
	resp = c.do("POST", "/api/v1/namespaces/default/configmaps", []byte(body.String()), "Content-Type", "application/vnd.kubernetes.protobuf")
	if resp.code != http.StatusCreated {
		t.Errorf("protobuf create: got %d %s", resp.code, resp.body)
	}
}

func TestATypedClientsWatchIsAProtobufStream(t *testing.T) {
	srv := testserver.Start(t)
	c := rawClient(t, srv, srv.AdminToken())
	req, _ := http.NewRequest("GET", srv.URL()+"/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1", nil)
	req.Header.Set("Authorization", "Bearer "+srv.AdminToken())
	req.Header.Set("Accept", "application/vnd.kubernetes.protobuf,application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.kubernetes.protobuf;stream=watch" {
		t.Errorf("Content-Type: got %q, want the protobuf watch stream", ct)
	}
}
