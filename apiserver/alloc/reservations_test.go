package alloc_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/navarch/navarch/apiserver/alloc"
)

func TestReservationsKeepTheServicesOfOneBatchApart(t *testing.T) {
	ctx := context.Background()
	// A /29: five drawable addresses for five Services planned before any
	// is committed.
	a, _ := newAllocator(t, "10.250.9.0/29", "")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := alloc.NewReservations(time.Minute, func() time.Time { return now })
	seen := map[string]string{}
	for i := 0; i < 5; i++ {
		svc := service(fmt.Sprintf("s%d", i), corev1.ServiceTypeClusterIP, 80)
		if _, err := a.PlanCreate(ctx, svc, alloc.WithReservations(r)); err != nil {
			t.Fatalf("plan %s: %v", svc.Name, err)
		}
		if prev, dup := seen[svc.Spec.ClusterIP]; dup {
			t.Fatalf("%s and %s were both planned onto %s", prev, svc.Name, svc.Spec.ClusterIP)
		}
		seen[svc.Spec.ClusterIP] = svc.Name
	}

	// The same Service planned again (a new uid, the same name) may have
	// its address back; another may not ask for it.
	again := service("s0", corev1.ServiceTypeClusterIP, 80)
	again.UID = "uid-s0-again"
	var s0 string
	for ip, name := range seen {
		if name == "s0" {
			s0 = ip
		}
	}
	again.Spec.ClusterIP = s0
	if _, err := a.PlanCreate(ctx, again, alloc.WithReservations(r)); err != nil {
		t.Errorf("s0 planned again onto %s: %v", s0, err)
	}
	other := service("other", corev1.ServiceTypeClusterIP, 80)
	other.Spec.ClusterIP = s0
	if _, err := a.PlanCreate(ctx, other, alloc.WithReservations(r)); !errors.Is(err, alloc.ErrAllocated) {
		t.Errorf("another Service asking for %s: got %v, want ErrAllocated", s0, err)
	}
	// Without reservations, or once they expire, etcd alone decides.
	if _, err := a.PlanCreate(ctx, other.DeepCopy()); err != nil {
		t.Errorf("planning without reservations: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := a.PlanCreate(ctx, other.DeepCopy(), alloc.WithReservations(r)); err != nil {
		t.Errorf("planning after the reservations expired: %v", err)
	}
}
