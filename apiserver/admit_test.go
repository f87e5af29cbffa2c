package apiserver_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/apiserver"
	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/store"
)

func resourceOf(t *testing.T, obj runtime.Object) api.Resource {
	t.Helper()
	r, err := api.ResourceFor(obj)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAdmitPreparesARevisionForOneTransaction(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	adm := srv.API()
	objs := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cfg"}},
	}
	for _, n := range []string{"a", "b", "c"} {
		svc := newService(n, "")
		svc.Namespace = "shop"
		objs = append(objs, svc)
	}
	var ops []store.Op
	for _, obj := range objs {
		got, err := adm.Admit(ctx, apiserver.AdmitCreate, resourceOf(t, obj), obj, nil, "navarch-reconciler")
		if err != nil {
			t.Fatalf("admit %T: %v", obj, err)
		}
		ops = append(ops, got...)
	}
	if _, err := srv.Store().Txn(ctx, ops); err != nil {
		t.Fatalf("txn: %v", err)
	}
	ips := map[string]bool{}
	for _, n := range []string{"a", "b", "c"} {
		svc, err := srv.ClientSet().CoreV1().Services("shop").Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if svc.Spec.ClusterIP == "" || ips[svc.Spec.ClusterIP] || svc.UID == "" || len(svc.ManagedFields) != 1 || svc.ManagedFields[0].Manager != "navarch-reconciler" {
			t.Errorf("service %s: ip %q uid %q managedFields %+v; want a distinct IP, a uid and the reconciler's fields", n, svc.Spec.ClusterIP, svc.UID, svc.ManagedFields)
		}
		ips[svc.Spec.ClusterIP] = true
	}

	// An update keeps the allocated IP; validation failures are 422.
	live, _ := srv.ClientSet().CoreV1().Services("shop").Get(ctx, "a", metav1.GetOptions{})
	next := newService("a", "")
	next.Namespace = "shop"
	next.Labels = map[string]string{"v": "2"}
	ops, err := adm.Admit(ctx, apiserver.AdmitUpdate, resourceOf(t, next), next, live, "navarch-reconciler")
	if err != nil {
		t.Fatalf("admit update: %v", err)
	}
	if next.Spec.ClusterIP != live.Spec.ClusterIP || len(ops) != 1 || ops[0].ResourceVersion == 0 {
		t.Errorf("update: ip %q (live %q), ops %+v; want the IP kept and a precondition", next.Spec.ClusterIP, live.Spec.ClusterIP, ops)
	}
	bad := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "Bad!"}}
	if _, err := adm.Admit(ctx, apiserver.AdmitCreate, resourceOf(t, bad), bad, nil, "m"); !apierrors.IsInvalid(err) {
		t.Errorf("admit of an invalid object: got %v, want 422", err)
	}

	// A namespace waits for its finalizer; a config map goes at once.
	ns, _ := srv.ClientSet().CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	ops, err = adm.Admit(ctx, apiserver.AdmitDelete, resourceOf(t, ns), nil, ns, "m")
	if err != nil || len(ops) != 1 || ops[0].Type != store.OpUpdate || ops[0].Object.(*corev1.Namespace).Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("admit delete of a namespace: %v %+v, want an update to Terminating", err, ops)
	}
	cm, _ := srv.ClientSet().CoreV1().ConfigMaps("shop").Get(ctx, "cfg", metav1.GetOptions{})
	ops, err = adm.Admit(ctx, apiserver.AdmitDelete, resourceOf(t, cm), nil, cm, "m")
	if err != nil || len(ops) != 1 || ops[0].Type != store.OpDelete {
		t.Errorf("admit delete of a config map: %v %+v, want a delete", err, ops)
	}
}
