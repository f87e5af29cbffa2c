package alloc_test

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/navarch/navarch/apiserver/alloc"
)

func TestRepairCreatesMissingKeysAndReleasesLeakedOnes(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")

	// A Service written without its keys (before the allocator existed).
	legacy := service("legacy", corev1.ServiceTypeNodePort, 80)
	legacy.Spec.ClusterIP, legacy.Spec.ClusterIPs = "10.96.5.5", []string{"10.96.5.5"}
	legacy.Spec.Ports[0].NodePort = 31555
	if err := st.Create(ctx, servicesRes.StorageKey("default", "legacy"), legacy); err != nil {
		t.Fatal(err)
	}
	// A key whose Service is gone.
	if _, err := a.AllocateIP(ctx, alloc.Owner{Namespace: "default", Name: "gone", UID: "uid-gone"}, mustAddr("10.96.6.6")); err != nil {
		t.Fatal(err)
	}
	// A healthy Service.
	ok := service("ok", corev1.ServiceTypeClusterIP, 80)
	if err := create(t, ctx, a, st, ok); err != nil {
		t.Fatal(err)
	}
	// A Service holding an address another one's key owns.
	clash := service("clash", corev1.ServiceTypeClusterIP, 80)
	clash.Spec.ClusterIP, clash.Spec.ClusterIPs = ok.Spec.ClusterIP, []string{ok.Spec.ClusterIP}
	if err := st.Create(ctx, servicesRes.StorageKey("default", "clash"), clash); err != nil {
		t.Fatal(err)
	}

	res, err := a.Repair(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantCreated := []string{alloc.ServiceIPsPrefix + "10.96.5.5", alloc.NodePortsPrefix + "31555"}
	if !slices.Equal(res.Created, wantCreated) {
		t.Errorf("created %v, want %v", res.Created, wantCreated)
	}
	if want := []string{alloc.ServiceIPsPrefix + "10.96.6.6"}; !slices.Equal(res.Released, want) {
		t.Errorf("released %v, want %v", res.Released, want)
	}
	if want := []string{alloc.ServiceIPsPrefix + ok.Spec.ClusterIP}; !slices.Equal(res.Conflicts, want) {
		t.Errorf("conflicts %v, want %v", res.Conflicts, want)
	}
	if !keyExists(t, st, alloc.ServiceIPsPrefix+ok.Spec.ClusterIP) {
		t.Errorf("repair released a healthy Service's address")
	}

	again, err := a.Repair(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Created)+len(again.Released) != 0 {
		t.Errorf("a second repair changed %+v, want nothing", again)
	}
}

func TestRepairSparesYoungKeys(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")
	ip, err := a.AllocateIP(ctx, alloc.Owner{Namespace: "default", Name: "soon", UID: "uid-soon"}, mustAddr("10.96.7.7"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Repair(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Released) != 0 || !keyExists(t, st, alloc.ServiceIPsPrefix+ip.String()) {
		t.Errorf("a key younger than the grace was released: %+v", res)
	}
}
