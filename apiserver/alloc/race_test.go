package alloc_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/navarch/navarch/apiserver/alloc"
	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

// secondClient connects another store to st's etcd, as a second API
// server on one etcd does.
func secondClient(t *testing.T, st *store.Store) *store.Store {
	t.Helper()
	opts := etcdtest.Options(t)
	opts.DataDir = ""
	opts.Endpoints = st.Client().Endpoints()
	return etcdtest.StartWith(t, opts)
}

func TestConcurrentCreatesOnTwoServersNeverShareAValue(t *testing.T) {
	ctx := context.Background()
	// A /28 has 14 usable addresses, 13 of them drawable; 20 node ports.
	st1 := etcdtest.Start(t)
	st2 := secondClient(t, st1)
	servers := []struct {
		a  *alloc.Allocator
		st *store.Store
	}{{allocatorOn(t, st1, "10.250.0.0/28", "30000-30019"), st1}, {allocatorOn(t, st2, "10.250.0.0/28", "30000-30019"), st2}}

	const n = 16
	var wg sync.WaitGroup
	results := make([]*corev1.Service, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := servers[i%2]
			svc := service(fmt.Sprintf("svc-%d", i), corev1.ServiceTypeNodePort, 80)
			errs[i] = create(t, ctx, s.a, s.st, svc)
			results[i] = svc
		}(i)
	}
	wg.Wait()

	ips, ports := map[string]string{}, map[int32]string{}
	created := 0
	for i, svc := range results {
		if errs[i] != nil {
			if !errors.Is(errs[i], alloc.ErrFull) {
				t.Errorf("%s: %v", svc.Name, errs[i])
			}
			continue
		}
		created++
		if other, dup := ips[svc.Spec.ClusterIP]; dup {
			t.Errorf("%s and %s both got %s", other, svc.Name, svc.Spec.ClusterIP)
		}
		ips[svc.Spec.ClusterIP] = svc.Name
		if other, dup := ports[svc.Spec.Ports[0].NodePort]; dup {
			t.Errorf("%s and %s both got node port %d", other, svc.Name, svc.Spec.Ports[0].NodePort)
		}
		ports[svc.Spec.Ports[0].NodePort] = svc.Name
	}
	if created != 13 {
		t.Errorf("got %d Services created, want 13 (every drawable address of the /28 once)", created)
	}
	if _, ok := ips["10.250.0.1"]; ok {
		t.Errorf("10.250.0.1, the kubernetes Service's address, was drawn")
	}
}

func TestARestartNeverReissuesAValueInUse(t *testing.T) {
	ctx := context.Background()
	opts := etcdtest.Options(t)
	st, err := store.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	// A /29: six usable addresses, five drawable.
	a := allocatorOn(t, st, "10.250.1.0/29", "")
	var held []string
	for i := 0; i < 5; i++ {
		svc := service(fmt.Sprintf("svc-%d", i), corev1.ServiceTypeClusterIP, 80)
		if err := create(t, ctx, a, st, svc); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		held = append(held, svc.Spec.ClusterIP)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = etcdtest.StartWith(t, opts)
	a = allocatorOn(t, st, "10.250.1.0/29", "")
	err = create(t, ctx, a, st, service("late", corev1.ServiceTypeClusterIP, 80))
	if !errors.Is(err, alloc.ErrFull) {
		t.Errorf("drawing after the restart: got %v, want ErrFull (all %v held)", err, held)
	}
	asked := service("asks", corev1.ServiceTypeClusterIP, 80)
	asked.Spec.ClusterIP = held[0]
	if err := create(t, ctx, a, st, asked); !errors.Is(err, alloc.ErrAllocated) {
		t.Errorf("asking for %s after the restart: got %v, want ErrAllocated", held[0], err)
	}
}

func TestRacedTellsAnAllocationRaceFromAnExistingService(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")
	svc := service("web", corev1.ServiceTypeClusterIP, 80)
	plan, err := a.PlanCreate(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	// Another writer takes the planned address first.
	thief := service("thief", corev1.ServiceTypeClusterIP, 80)
	thief.Spec.ClusterIP = svc.Spec.ClusterIP
	if err := create(t, ctx, a, st, thief); err != nil {
		t.Fatal(err)
	}
	ops := append([]store.Op{{Type: store.OpCreate, Key: servicesRes.StorageKey("default", "web"), Object: svc}}, plan.Ops...)
	_, err = st.Txn(ctx, ops)
	if !a.Raced(ctx, plan, err) {
		t.Errorf("got Raced false for %v, want true", err)
	}

	// A Service that exists already is no race.
	dup := service("thief", corev1.ServiceTypeClusterIP, 80)
	plan, err = a.PlanCreate(ctx, dup)
	if err != nil {
		t.Fatal(err)
	}
	ops = append([]store.Op{{Type: store.OpCreate, Key: servicesRes.StorageKey("default", "thief"), Object: dup}}, plan.Ops...)
	_, err = st.Txn(ctx, ops)
	if !errors.Is(err, store.ErrExists) || a.Raced(ctx, plan, err) {
		t.Errorf("got %v and Raced true, want ErrExists and false", err)
	}
}

func TestTheSimplePathAllocatesAndReleases(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "10.250.2.0/24", "")
	owner := alloc.Owner{Namespace: "default", Name: "one", UID: "uid-1"}
	other := alloc.Owner{Namespace: "default", Name: "two", UID: "uid-2"}

	ip, err := a.AllocateIP(ctx, owner, netip.Addr{})
	if err != nil || !a.ServiceCIDR().Contains(ip) {
		t.Fatalf("got %v, %v, want an address of %s", ip, err, a.ServiceCIDR())
	}
	if _, err := a.AllocateIP(ctx, other, ip); !errors.Is(err, alloc.ErrAllocated) {
		t.Errorf("another owner asking for %s: got %v, want ErrAllocated", ip, err)
	}
	if got, err := a.AllocateIP(ctx, owner, ip); err != nil || got != ip {
		t.Errorf("the owner asking again for %s: got %v, %v", ip, got, err)
	}
	if _, err := a.AllocateIP(ctx, owner, netip.MustParseAddr("10.250.3.1")); !errors.Is(err, alloc.ErrNotInRange) {
		t.Errorf("asking outside the range: got %v, want ErrNotInRange", err)
	}
	if err := a.ReleaseIP(ctx, other, ip); err != nil || !keyExists(t, st, alloc.ServiceIPsPrefix+ip.String()) {
		t.Errorf("a release by another owner: got %v, want nil and the address still held", err)
	}
	if err := a.ReleaseIP(ctx, owner, ip); err != nil || keyExists(t, st, alloc.ServiceIPsPrefix+ip.String()) {
		t.Errorf("the owner's release: got %v, want nil and the address free", err)
	}

	port, err := a.AllocateNodePort(ctx, owner, 0)
	if err != nil || port < 30000 || port > 32767 {
		t.Fatalf("got node port %d, %v", port, err)
	}
	if _, err := a.AllocateNodePort(ctx, other, port); !errors.Is(err, alloc.ErrAllocated) {
		t.Errorf("another owner asking for %d: got %v, want ErrAllocated", port, err)
	}
	if err := a.ReleaseNodePort(ctx, owner, port); err != nil || keyExists(t, st, alloc.NodePortsPrefix+itoa(port)) {
		t.Errorf("release of %d: got %v, want the port free", port, err)
	}

	svc := service("web", corev1.ServiceTypeNodePort, 80)
	if err := a.AllocateService(ctx, svc); err != nil || svc.Spec.ClusterIP == "" || svc.Spec.Ports[0].NodePort == 0 {
		t.Fatalf("AllocateService: %v, got %s and %d", err, svc.Spec.ClusterIP, svc.Spec.Ports[0].NodePort)
	}
	if err := a.ReleaseService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if keyExists(t, st, alloc.ServiceIPsPrefix+svc.Spec.ClusterIP) || keyExists(t, st, alloc.NodePortsPrefix+itoa(svc.Spec.Ports[0].NodePort)) {
		t.Errorf("ReleaseService left keys behind")
	}
}

func TestAFullRangeScansBeforeGivingUp(t *testing.T) {
	ctx := context.Background()
	// Five node ports: draws mostly hit taken ports, the scan finds the rest.
	a, _ := newAllocator(t, "", "30000-30004")
	owner := alloc.Owner{Namespace: "default", Name: "one", UID: "uid-1"}
	seen := map[int32]bool{}
	for i := 0; i < 5; i++ {
		p, err := a.AllocateNodePort(ctx, owner, 0)
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		if seen[p] {
			t.Fatalf("node port %d handed out twice", p)
		}
		seen[p] = true
	}
	if _, err := a.AllocateNodePort(ctx, owner, 0); !errors.Is(err, alloc.ErrFull) {
		t.Errorf("got %v, want ErrFull", err)
	}
}

func TestOptionsAreValidated(t *testing.T) {
	tests := []struct {
		opts  alloc.Options
		valid bool
	}{
		{alloc.Options{}, true},
		{alloc.Options{ServiceCIDR: "10.0.0.0/24", NodePortRange: "20000-20010"}, true},
		{alloc.Options{ServiceCIDR: "10.0.0.0/30"}, false},
		{alloc.Options{ServiceCIDR: "fd00::/108"}, false},
		{alloc.Options{ServiceCIDR: "nonsense"}, false},
		{alloc.Options{NodePortRange: "30000"}, false},
		{alloc.Options{NodePortRange: "32767-30000"}, false},
		{alloc.Options{NodePortRange: "0-10"}, false},
	}
	for _, tt := range tests {
		if err := tt.opts.Validate(); (err == nil) != tt.valid {
			t.Errorf("%+v: got %v, want valid %v", tt.opts, err, tt.valid)
		}
	}
}
