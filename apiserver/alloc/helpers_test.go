package alloc_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/apiserver/alloc"
	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

var servicesRes, _ = api.LookupResource(corev1.SchemeGroupVersion.WithResource("services"))

// newAllocator starts a store and returns an Allocator over it.
func newAllocator(t testing.TB, cidr, ports string) (*alloc.Allocator, *store.Store) {
	t.Helper()
	st := etcdtest.Start(t)
	return allocatorOn(t, st, cidr, ports), st
}

// allocatorOn returns an Allocator over st.
func allocatorOn(t testing.TB, st *store.Store, cidr, ports string) *alloc.Allocator {
	t.Helper()
	a, err := alloc.New(st, alloc.Options{ServiceCIDR: cidr, NodePortRange: ports})
	if err != nil {
		t.Fatalf("new allocator: %v", err)
	}
	return a
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// service returns a defaulted Service of type typ with the given ports
// (TCP unless a protocol is named as "53/UDP").
func service(name string, typ corev1.ServiceType, ports ...int32) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec:       corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": name}},
	}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", p), Port: p, Protocol: corev1.ProtocolTCP})
	}
	api.Default(svc)
	return svc
}

// create writes svc and its allocations in one transaction, as the API
// server does, planning again when another writer raced it.
func create(t testing.TB, ctx context.Context, a *alloc.Allocator, st *store.Store, svc *corev1.Service) error {
	t.Helper()
	want := svc.DeepCopy()
	for attempt := 0; ; attempt++ {
		try := want.DeepCopy()
		plan, err := a.PlanCreate(ctx, try)
		if err != nil {
			return err
		}
		ops := append([]store.Op{{Type: store.OpCreate, Key: servicesRes.StorageKey(try.Namespace, try.Name), Object: try}}, plan.Ops...)
		_, err = st.Txn(ctx, ops)
		if err != nil && attempt < 10 && a.Raced(ctx, plan, err) {
			continue
		}
		if err == nil {
			*svc = *try
		}
		return err
	}
}

// update writes svc over old and adjusts the allocations in one transaction.
func update(t testing.TB, ctx context.Context, a *alloc.Allocator, st *store.Store, old, svc *corev1.Service) error {
	t.Helper()
	plan, err := a.PlanUpdate(ctx, old, svc)
	if err != nil {
		return err
	}
	rv, _ := store.ParseResourceVersion(old.ResourceVersion)
	ops := append([]store.Op{{Type: store.OpUpdate, Key: servicesRes.StorageKey(svc.Namespace, svc.Name), Object: svc, ResourceVersion: rv}}, plan.Ops...)
	_, err = st.Txn(ctx, ops)
	return err
}

// remove deletes svc and releases its allocations in one transaction.
func remove(t testing.TB, ctx context.Context, a *alloc.Allocator, st *store.Store, svc *corev1.Service) {
	t.Helper()
	plan, err := a.PlanDelete(ctx, svc)
	if err != nil {
		t.Fatalf("plan delete: %v", err)
	}
	ops := append([]store.Op{{Type: store.OpDelete, Key: servicesRes.StorageKey(svc.Namespace, svc.Name)}}, plan.Ops...)
	if _, err := st.Txn(ctx, ops); err != nil {
		t.Fatalf("delete service %s: %v", svc.Name, err)
	}
}

// keyExists reports whether key holds an allocation.
func keyExists(t testing.TB, st *store.Store, key string) bool {
	t.Helper()
	err := st.Get(context.Background(), key, &corev1.RangeAllocation{})
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return true
}

// fieldErrors returns err's field errors, failing when err is not an
// *alloc.InvalidError.
func fieldErrors(t testing.TB, err error) field.ErrorList {
	t.Helper()
	var inv *alloc.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("got error %v, want an *alloc.InvalidError", err)
	}
	return inv.Errs
}
