package store_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/store"
)

var pods, _ = api.LookupResource(corev1.SchemeGroupVersion.WithResource("pods"))

// podKey is the storage key of the pod ns/name.
func podKey(ns, name string) string { return pods.StorageKey(ns, name) }

func newPod() runtime.Object { return &corev1.Pod{} }

// pod returns a pod with labels and a node name.
func pod(ns, name, node string, lbls map[string]string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls, UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

// podAttrs is what api.SelectableFields gives for pods, reduced to what
// the tests select on.
func podAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	p := obj.(*corev1.Pod)
	return labels.Set(p.Labels), fields.Set{
		"metadata.name":      p.Name,
		"metadata.namespace": p.Namespace,
		"spec.nodeName":      p.Spec.NodeName,
	}, nil
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustCreate(t testing.TB, s *store.Store, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	if err := s.Create(ctxT(t), podKey(p.Namespace, p.Name), p); err != nil {
		t.Fatalf("create %s/%s: %v", p.Namespace, p.Name, err)
	}
	return p
}

func rvOf(t testing.TB, obj runtime.Object) int64 {
	t.Helper()
	p := obj.(metav1.Object)
	rv, err := store.ParseResourceVersion(p.GetResourceVersion())
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", p.GetResourceVersion(), err)
	}
	return rv
}
