package apiserver_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/internal/testserver"
)

func newDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "web", Image: "nginx:1.27", Env: []corev1.EnvVar{{Name: "A", Value: "1"}}},
				}},
			},
		},
	}
}

func TestEachPatchTypeChangesTheObject(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	deploys := srv.ClientSet().AppsV1().Deployments("default")
	if _, err := deploys.Create(ctx, newDeployment("web", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		typ   types.PatchType
		patch string
		check func(*appsv1.Deployment) bool
	}{
		{"a JSON patch replaces a path", types.JSONPatchType,
			`[{"op":"replace","path":"/spec/replicas","value":3}]`,
			func(d *appsv1.Deployment) bool { return *d.Spec.Replicas == 3 }},
		{"a merge patch merges maps", types.MergePatchType,
			`{"metadata":{"labels":{"tier":"front"}}}`,
			func(d *appsv1.Deployment) bool { return d.Labels["tier"] == "front" }},
		{"a strategic merge patch merges a list by its key", types.StrategicMergePatchType,
			`{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"B","value":"2"}]}]}}}}`,
			func(d *appsv1.Deployment) bool {
				c := d.Spec.Template.Spec.Containers
				return len(c) == 1 && c[0].Image == "nginx:1.27" && len(c[0].Env) == 2
			}},
		{"a strategic merge patch can delete a list item", types.StrategicMergePatchType,
			`{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"A","$patch":"delete"}]}]}}}}`,
			func(d *appsv1.Deployment) bool {
				env := d.Spec.Template.Spec.Containers[0].Env
				return len(env) == 1 && env[0].Name == "B"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := deploys.Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := deploys.Patch(ctx, "web", tt.typ, []byte(tt.patch), metav1.PatchOptions{})
			if err != nil {
				t.Fatalf("patch: %v", err)
			}
			if !tt.check(got) {
				t.Errorf("patched deployment does not show the change: %+v", got.Spec)
			}
			if got.ResourceVersion == before.ResourceVersion {
				t.Error("the resourceVersion did not change")
			}
		})
	}

	t.Run("a patch carrying a stale resourceVersion is a conflict", func(t *testing.T) {
		_, err := deploys.Patch(ctx, "web", types.MergePatchType, []byte(`{"metadata":{"resourceVersion":"2","labels":{"x":"y"}}}`), metav1.PatchOptions{})
		if !apierrors.IsConflict(err) {
			t.Errorf("got %v, want 409", err)
		}
	})
	t.Run("a JSON patch that does not apply is a 422", func(t *testing.T) {
		_, err := deploys.Patch(ctx, "web", types.JSONPatchType, []byte(`[{"op":"test","path":"/spec/replicas","value":99}]`), metav1.PatchOptions{})
		if se, ok := err.(apierrors.APIStatus); !ok || se.Status().Code != 422 {
			t.Errorf("got %v, want 422", err)
		}
	})
	t.Run("a patch of a missing object is a 404", func(t *testing.T) {
		_, err := deploys.Patch(ctx, "nope", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("got %v, want 404", err)
		}
	})
	t.Run("a patch adding an unknown field with Strict validation is a 400", func(t *testing.T) {
		_, err := deploys.Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"bogus":1}}`), metav1.PatchOptions{FieldValidation: "Strict"})
		if !apierrors.IsBadRequest(err) {
			t.Errorf("got %v, want 400", err)
		}
	})
}

func TestServerSideApplyCreatesUpdatesAndDetectsConflicts(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	apply := func(manager string, force bool, body string) (*corev1.ConfigMap, error) {
		return cms.Patch(ctx, "cfg", types.ApplyPatchType, []byte(body), metav1.PatchOptions{FieldManager: manager, Force: ptr.To(force)})
	}

	created, err := apply("alice", false, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"1","b":"2"}}`)
	if err != nil {
		t.Fatalf("apply create: %v", err)
	}
	if created.Data["a"] != "1" || len(created.ManagedFields) != 1 || created.ManagedFields[0].Manager != "alice" ||
		created.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Fatalf("created: data %v, managedFields %+v; want alice's apply", created.Data, created.ManagedFields)
	}

	// Alice drops b: the field she owned goes.
	updated, err := apply("alice", false, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"1"}}`)
	if err != nil {
		t.Fatalf("apply update: %v", err)
	}
	if _, ok := updated.Data["b"]; ok || updated.Data["a"] != "1" {
		t.Errorf("after alice dropped b: got %v, want only a", updated.Data)
	}

	// Bob sets a to another value: a conflict with alice, until forced.
	_, err = apply("bob", false, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"9"}}`)
	if !apierrors.IsConflict(err) {
		t.Fatalf("bob's conflicting apply: got %v, want 409", err)
	}
	if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Details == nil || len(st.Status().Details.Causes) == 0 ||
		st.Status().Details.Causes[0].Field != ".data.a" {
		t.Errorf("conflict details: got %+v, want a cause for .data.a", err)
	}
	forced, err := apply("bob", true, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"9"}}`)
	if err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	if forced.Data["a"] != "9" {
		t.Errorf("after forced apply: got a=%q, want 9", forced.Data["a"])
	}

	// An apply without a field manager is refused.
	_, err = cms.Patch(ctx, "cfg", types.ApplyPatchType, []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"}}`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("apply without fieldManager: got %v, want 422", err)
	}

	// A plain update records its manager too.
	forced.Data["c"] = "3"
	up, err := cms.Update(ctx, forced, metav1.UpdateOptions{FieldManager: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	managers := map[string]bool{}
	for _, e := range up.ManagedFields {
		managers[e.Manager] = true
	}
	if !managers["carol"] || !managers["bob"] {
		t.Errorf("managers after carol's update: got %v, want bob and carol", managers)
	}
}

func TestServerSideApplyOfASourceUsesItsSchema(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	dc, err := dynamic.NewForConfig(srv.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	sources := dc.Resource(gitopsv1alpha1.SchemeGroupVersion.WithResource("sources")).Namespace("navarch-system")
	apply := func(manager, body string) (*unstructured.Unstructured, error) {
		return sources.Patch(ctx, "shop", types.ApplyPatchType, []byte(body), metav1.PatchOptions{FieldManager: manager})
	}
	src, err := apply("alice", `{"apiVersion":"gitops.navarch.dev/v1alpha1","kind":"Source","metadata":{"name":"shop"},
		"spec":{"git":{"url":"https://git.example.com/shop.git"},"path":"deploy/","prune":true}}`)
	if err != nil {
		t.Fatalf("apply a new Source: %v", err)
	}
	if url, _, _ := unstructured.NestedString(src.Object, "spec", "git", "url"); url != "https://git.example.com/shop.git" {
		t.Errorf("spec.git.url: got %q", url)
	}
	// Bob sets another field: no conflict, both own their fields.
	if _, err := apply("bob", `{"apiVersion":"gitops.navarch.dev/v1alpha1","kind":"Source","metadata":{"name":"shop"},"spec":{"suspend":true}}`); err != nil {
		t.Fatalf("bob's apply of another field: %v", err)
	}
	// Bob changes alice's path: a conflict naming the field.
	_, err = apply("bob", `{"apiVersion":"gitops.navarch.dev/v1alpha1","kind":"Source","metadata":{"name":"shop"},"spec":{"path":"other/"}}`)
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), ".spec.path") {
		t.Errorf("bob changing alice's path: got %v, want a conflict on .spec.path", err)
	}
	// A field the schema does not know is refused.
	_, err = apply("alice", `{"apiVersion":"gitops.navarch.dev/v1alpha1","kind":"Source","metadata":{"name":"shop"},"spec":{"bogus":1}}`)
	if !apierrors.IsBadRequest(err) {
		t.Errorf("apply of an unknown field: got %v, want 400", err)
	}
}
