package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jonboulle/clockwork"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/openapi/cached"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kubectl/pkg/cmd/apply"
	explainv2 "k8s.io/kubectl/pkg/explain/v2"
	kubectlutil "k8s.io/kubectl/pkg/util"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// apiServer is an httptest server serving the OpenAPI documents and
// recording the PATCH requests kubectl sends; every other request answers
// with the object set in reply.
type apiServer struct {
	*httptest.Server
	config *rest.Config

	mu      sync.Mutex
	patches []recordedPatch
	reply   []byte
}

type recordedPatch struct {
	path, contentType string
	body              []byte
}

func startAPIServer(t *testing.T) *apiServer {
	t.Helper()
	docs, err := Documents(api.Resources())
	if err != nil {
		t.Fatalf("Documents: %v", err)
	}
	s := &apiServer{}
	mux := http.NewServeMux()
	h := Handler(docs)
	mux.Handle(DiscoveryPath, h)
	mux.Handle(DiscoveryPath+"/", h)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Method == http.MethodPatch {
			body, _ := io.ReadAll(r.Body)
			s.patches = append(s.patches, recordedPatch{path: r.URL.Path, contentType: r.Header.Get("Content-Type"), body: body})
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.reply)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	s.config = &rest.Config{Host: s.URL}
	return s
}

// openAPIClient is the OpenAPI v3 client kubectl builds: the discovery
// client's, memory-cached.
func (s *apiServer) openAPIClient(t *testing.T) openapi.Client {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(s.config)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	return cached.NewClient(dc.OpenAPIV3())
}

func TestKubectlFindsEveryServedKindAndFieldValidation(t *testing.T) {
	s := startAPIServer(t)
	client := s.openAPIClient(t)
	dyn, err := dynamic.NewForConfig(s.config)
	if err != nil {
		t.Fatal(err)
	}
	// The verifier `kubectl apply` uses to decide between server-side
	// field validation and downloading /openapi/v2.
	verifier := resource.NewQueryParamVerifierV3(dyn, client, resource.QueryParamFieldValidation)
	root := openapi3.NewRoot(client)
	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatalf("GroupVersions: %v", err)
	}
	if len(gvs) != len(api.GroupVersions()) {
		t.Errorf("got group-versions %v, want %v", gvs, api.GroupVersions())
	}
	for _, r := range api.Resources() {
		gvk := r.GroupVersionKind()
		// The verifier stops at the first PATCH of the kind it meets, in map
		// order; asking several times covers every PATCH path of the kind.
		for range 5 {
			if err := verifier.HasSupport(gvk); err != nil {
				t.Errorf("%s: kubectl's fieldValidation check: %v", gvk, err)
				break
			}
		}
		doc, err := root.GVSpec(gvk.GroupVersion())
		if err != nil {
			t.Fatalf("GVSpec(%s): %v", gvk.GroupVersion(), err)
		}
		if n := componentsOfKind(doc.Components.Schemas, gvk); n != 1 {
			t.Errorf("%s: got %d component schemas tagged with the kind, want 1", gvk, n)
		}
	}
}

func componentsOfKind(schemas map[string]*spec.Schema, gvk schema.GroupVersionKind) int {
	n := 0
	for _, s := range schemas {
		var list []map[string]string
		if err := s.Extensions.GetObject(extGVK, &list); err != nil {
			continue
		}
		for _, e := range list {
			if e["group"] == gvk.Group && e["version"] == gvk.Version && e["kind"] == gvk.Kind {
				n++
			}
		}
	}
	return n
}

// TestKubectlApplyComputesStrategicMergePatchesFromTheDocument runs
// kubectl's own client-side apply patcher against the served documents and
// checks that it sends a strategic merge patch computed with the same merge
// keys as the Go types declare.
func TestKubectlApplyComputesStrategicMergePatchesFromTheDocument(t *testing.T) {
	tests := []struct {
		name              string
		gvr               schema.GroupVersionResource
		original, current runtime.Object
		modified          runtime.Object
		goType            runtime.Object
		wantInPatch       []string
		wantNotInPatch    []string
	}{
		{
			name:     "a pod's containers merge by name and their ports by containerPort",
			gvr:      corev1.SchemeGroupVersion.WithResource("pods"),
			original: pod("web:1", "edge"),
			modified: pod("web:2", "public"),
			current:  withServerDefaults(pod("web:1", "edge")),
			goType:   &corev1.Pod{},
			wantInPatch: []string{`"$setElementOrder/containers":[{"name":"web"},{"name":"log"}]`,
				`"$setElementOrder/ports":[{"containerPort":80},{"containerPort":443}]`, `"image":"web:2"`},
			wantNotInPatch: []string{`"log:1"`, `terminationMessagePath`},
		},
		{
			name:           "a deployment's template containers merge by name",
			gvr:            appsv1.SchemeGroupVersion.WithResource("deployments"),
			original:       deployment("web:1"),
			modified:       deployment("web:2"),
			current:        deployment("web:1"),
			goType:         &appsv1.Deployment{},
			wantInPatch:    []string{`"$setElementOrder/containers":[{"name":"web"},{"name":"log"}]`, `"image":"web:2"`},
			wantNotInPatch: []string{`"log:1"`},
		},
		{
			name:        "a source's spec changes",
			gvr:         gitopsv1alpha1.SchemeGroupVersion.WithResource("sources"),
			original:    source("deploy/"),
			modified:    source("k8s/"),
			current:     source("deploy/"),
			goType:      &gitopsv1alpha1.Source{},
			wantInPatch: []string{`"path":"k8s/"`},
		},
	}
	s := startAPIServer(t)
	client := s.openAPIClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := api.LookupResource(tt.gvr)
			if !ok {
				t.Fatalf("%s is not served", tt.gvr)
			}
			original, modified, current := toUnstructured(t, tt.original), toUnstructured(t, tt.modified), toUnstructured(t, tt.current)
			originalJSON, err := kubectlutil.GetModifiedConfiguration(original, false, unstructured.UnstructuredJSONScheme)
			if err != nil {
				t.Fatal(err)
			}
			// What the previous apply left in the annotation.
			current.SetAnnotations(map[string]string{corev1.LastAppliedConfigAnnotation: string(originalJSON)})
			modifiedJSON, err := kubectlutil.GetModifiedConfiguration(modified, true, unstructured.UnstructuredJSONScheme)
			if err != nil {
				t.Fatal(err)
			}
			currentJSON, _ := json.Marshal(current)
			s.mu.Lock()
			s.reply, s.patches = currentJSON, nil
			s.mu.Unlock()

			p := &apply.Patcher{
				Mapping:       restMapping(r),
				Helper:        resource.NewHelper(restClient(t, s, r.GroupVersion()), restMapping(r)),
				Overwrite:     true,
				BackOff:       clockwork.NewRealClock(),
				OpenAPIV3Root: openapi3.NewRoot(client),
				Retries:       1,
			}
			var errOut bytes.Buffer
			patch, _, err := p.Patch(current, modifiedJSON, "manifest.yaml", current.GetNamespace(), current.GetName(), &errOut)
			if err != nil {
				t.Fatalf("kubectl's patcher: %v", err)
			}
			if errOut.Len() > 0 {
				t.Errorf("kubectl warned: %s", errOut.String())
			}
			s.mu.Lock()
			sent := s.patches
			s.mu.Unlock()
			if len(sent) != 1 || sent[0].contentType != "application/strategic-merge-patch+json" {
				t.Fatalf("got patches %+v, want one strategic merge patch", sent)
			}

			// The same three-way patch computed from the Go type's struct tags.
			meta, err := strategicpatch.NewPatchMetaFromStruct(tt.goType)
			if err != nil {
				t.Fatal(err)
			}
			want, err := strategicpatch.CreateThreeWayMergePatch(originalJSON, modifiedJSON, currentJSON, meta, true)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, patch, want) || !jsonEqual(t, sent[0].body, want) {
				t.Errorf("got patch %s,\nwant the one the Go types give: %s", patch, want)
			}
			// kubectl falls back to its compiled-in types when the document
			// does not serve; compute the patch the way its OpenAPI v3 path
			// does to be sure that path alone gives it.
			if v3 := openAPIV3Patch(t, openapi3.NewRoot(client), r.GroupVersionKind(), originalJSON, modifiedJSON, currentJSON); !jsonEqual(t, v3, want) {
				t.Errorf("got patch %s from the OpenAPI v3 document,\nwant %s", v3, want)
			}
			for _, s := range tt.wantInPatch {
				if !strings.Contains(string(patch), s) {
					t.Errorf("patch %s lacks %s", patch, s)
				}
			}
			for _, s := range tt.wantNotInPatch {
				if strings.Contains(string(patch), s) {
					t.Errorf("patch %s has %s", patch, s)
				}
			}
		})
	}
}

func TestKubectlExplainDescribesFieldsFromTheDocument(t *testing.T) {
	s := startAPIServer(t)
	client := s.openAPIClient(t)
	tests := []struct {
		gvr   schema.GroupVersionResource
		field []string
		want  []string
	}{
		{corev1.SchemeGroupVersion.WithResource("pods"), []string{"spec", "containers"},
			[]string{"KIND:       Pod", "FIELD: containers <[]Container>", "List of containers belonging to the pod."}},
		{gitopsv1alpha1.SchemeGroupVersion.WithResource("sources"), []string{"spec"},
			[]string{"KIND:       Source", "GROUP:      gitops.navarch.dev", "git\t<GitSource>", "Git follows a branch, tag or commit"}},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := explainv2.PrintModelDescription(tt.field, &out, client, tt.gvr, false, 0, "plaintext"); err != nil {
			t.Fatalf("explain %s %v: %v", tt.gvr, tt.field, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("explain %s %v: output lacks %q:\n%s", tt.gvr.Resource, tt.field, w, out.String())
			}
		}
	}
}

// openAPIV3Patch repeats the steps of kubectl's apply patcher on its OpenAPI
// v3 path: the kind's PATCH must accept strategic merge patches, and the
// component tagged with the kind gives the merge keys.
func openAPIV3Patch(t *testing.T, root openapi3.Root, gvk schema.GroupVersionKind, original, modified, current []byte) []byte {
	t.Helper()
	doc, err := root.GVSpec(gvk.GroupVersion())
	if err != nil {
		t.Fatalf("GVSpec: %v", err)
	}
	smp := false
	for _, p := range doc.Paths.Paths {
		if p.Patch == nil {
			continue
		}
		var g map[string]string
		if p.Patch.Extensions.GetObject(extGVK, &g) != nil || g["kind"] != gvk.Kind || g["group"] != gvk.Group || g["version"] != gvk.Version {
			continue
		}
		_, smp = p.Patch.RequestBody.Content["application/strategic-merge-patch+json"]
		if !smp {
			t.Errorf("a PATCH of %s does not accept strategic merge patches", gvk)
		}
	}
	if !smp {
		t.Fatalf("no PATCH operation of %s accepts strategic merge patches", gvk)
	}
	for _, c := range doc.Components.Schemas {
		var list []map[string]string
		if c.Extensions.GetObject(extGVK, &list) != nil || len(list) == 0 || list[0]["kind"] != gvk.Kind || list[0]["group"] != gvk.Group {
			continue
		}
		lookup := strategicpatch.PatchMetaFromOpenAPIV3{Schema: c, SchemaList: doc.Components.Schemas}
		patch, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, lookup, true)
		if err != nil {
			t.Fatalf("strategic merge patch from the OpenAPI v3 schema of %s: %v", gvk, err)
		}
		return patch
	}
	t.Fatalf("no component schema is tagged with %s", gvk)
	return nil
}

func restMapping(r api.Resource) *meta.RESTMapping {
	scope := meta.RESTScopeRoot
	if r.Namespaced {
		scope = meta.RESTScopeNamespace
	}
	return &meta.RESTMapping{Resource: r.GroupVersionResource, GroupVersionKind: r.GroupVersionKind(), Scope: scope}
}

// restClient is the client kubectl builds for a mapping
// (UnstructuredClientForMapping).
func restClient(t *testing.T, s *apiServer, gv schema.GroupVersion) *rest.RESTClient {
	t.Helper()
	cfg := rest.CopyConfig(s.config)
	cfg.ContentConfig = resource.UnstructuredPlusDefaultContentConfig()
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	c, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatalf("rest client: %v", err)
	}
	return c
}

func toUnstructured(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	gvks, _, err := api.Scheme.ObjectKinds(obj)
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvks[0])
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

func pod(webImage, tlsPortName string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "web", Image: webImage, Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 80}, {Name: tlsPortName, ContainerPort: 443},
			}},
			{Name: "log", Image: "log:1"},
		}},
	}
}

// withServerDefaults adds what the server fills in and the manifest never
// says, which a patch must leave alone.
func withServerDefaults(p *corev1.Pod) *corev1.Pod {
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].TerminationMessagePath = "/dev/termination-log"
		for j := range p.Spec.Containers[i].Ports {
			p.Spec.Containers[i].Ports[j].Protocol = corev1.ProtocolTCP
		}
	}
	return p
}

func deployment(webImage string) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ptr(intstr.FromString("25%"))}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       pod(webImage, "tls").Spec,
			},
		},
	}
}

func source(path string) *gitopsv1alpha1.Source {
	return &gitopsv1alpha1.Source{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "navarch-system"},
		Spec:       gitopsv1alpha1.SourceSpec{Git: &gitopsv1alpha1.GitSource{URL: "https://git.example.com/shop.git"}, Path: path},
	}
}

func ptr[T any](v T) *T { return &v }
