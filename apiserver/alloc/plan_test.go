package alloc_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/navarch/navarch/apiserver/alloc"
)

func TestCreateFillsClusterIPAndNodePortsAndStoresThem(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")
	svc := service("web", corev1.ServiceTypeNodePort, 80, 443)
	if err := create(t, ctx, a, st, svc); err != nil {
		t.Fatalf("create: %v", err)
	}
	ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil || !a.ServiceCIDR().Contains(ip) {
		t.Fatalf("got clusterIP %q, want an address in %s", svc.Spec.ClusterIP, a.ServiceCIDR())
	}
	if ip == alloc.KubernetesServiceIP(a.ServiceCIDR()) {
		t.Errorf("got clusterIP %s, the kubernetes Service's", ip)
	}
	if len(svc.Spec.ClusterIPs) != 1 || svc.Spec.ClusterIPs[0] != svc.Spec.ClusterIP {
		t.Errorf("got clusterIPs %v, want [%s]", svc.Spec.ClusterIPs, svc.Spec.ClusterIP)
	}
	if !keyExists(t, st, alloc.ServiceIPsPrefix+svc.Spec.ClusterIP) {
		t.Errorf("no allocation key for %s", svc.Spec.ClusterIP)
	}
	first, last := a.NodePortRange()
	seen := map[int32]bool{}
	for i, p := range svc.Spec.Ports {
		if p.NodePort < first || p.NodePort > last || seen[p.NodePort] {
			t.Errorf("port %d: got nodePort %d, want a distinct port in %d-%d", i, p.NodePort, first, last)
		}
		seen[p.NodePort] = true
		if !keyExists(t, st, alloc.NodePortsPrefix+itoa(p.NodePort)) {
			t.Errorf("no allocation key for node port %d", p.NodePort)
		}
	}
	r := &corev1.RangeAllocation{}
	if err := st.Get(ctx, alloc.ServiceIPsPrefix+svc.Spec.ClusterIP, r); err != nil {
		t.Fatal(err)
	}
	if r.Namespace != "default" || len(r.OwnerReferences) != 1 || r.OwnerReferences[0].UID != svc.UID || r.OwnerReferences[0].Name != "web" {
		t.Errorf("got allocation %s/%s owned by %v, want default/… owned by Service web %s", r.Namespace, r.Name, r.OwnerReferences, svc.UID)
	}
}

func TestServicesWithoutAClusterIPTakeNothing(t *testing.T) {
	ctx := context.Background()
	a, _ := newAllocator(t, "", "")
	headless := service("headless", corev1.ServiceTypeClusterIP, 80)
	headless.Spec.ClusterIP = corev1.ClusterIPNone
	external := service("external", corev1.ServiceTypeExternalName)
	external.Spec.ExternalName = "example.com"
	for _, svc := range []*corev1.Service{headless, external} {
		want := svc.Spec.ClusterIP
		plan, err := a.PlanCreate(ctx, svc)
		if err != nil {
			t.Fatalf("%s: %v", svc.Name, err)
		}
		if len(plan.Ops) != 0 || svc.Spec.ClusterIP != want {
			t.Errorf("%s: got %d ops and clusterIP %q, want none and %q", svc.Name, len(plan.Ops), svc.Spec.ClusterIP, want)
		}
	}
}

func TestRequestedValuesAreHonouredWhenFreeAndInRange(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")
	svc := service("dns", corev1.ServiceTypeNodePort, 53)
	svc.Spec.ClusterIP = "10.96.0.10"
	svc.Spec.Ports[0].NodePort = 30053
	if err := create(t, ctx, a, st, svc); err != nil {
		t.Fatalf("create: %v", err)
	}
	if svc.Spec.ClusterIP != "10.96.0.10" || svc.Spec.Ports[0].NodePort != 30053 {
		t.Errorf("got %s and %d, want 10.96.0.10 and 30053", svc.Spec.ClusterIP, svc.Spec.Ports[0].NodePort)
	}
	k := service("kubernetes", corev1.ServiceTypeClusterIP, 443)
	k.Spec.ClusterIP = alloc.KubernetesServiceIP(a.ServiceCIDR()).String()
	if err := create(t, ctx, a, st, k); err != nil {
		t.Fatalf("the kubernetes Service asking for %s: %v", k.Spec.ClusterIP, err)
	}
}

func TestRefusedRequestsAreFieldErrorsInKubernetesWording(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")
	first := service("first", corev1.ServiceTypeNodePort, 80)
	first.Spec.ClusterIP = "10.96.0.20"
	first.Spec.Ports[0].NodePort = 30080
	if err := create(t, ctx, a, st, first); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, clusterIP string
		nodePort        int32
		field, detail   string
		sentinel        error
	}{
		{"a taken IP", "10.96.0.20", 0, "spec.clusterIP", "provided IP is already allocated", alloc.ErrAllocated},
		{"an IP outside the CIDR", "10.0.0.1", 0, "spec.clusterIP", "provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12", alloc.ErrNotInRange},
		{"the network address", "10.96.0.0", 0, "spec.clusterIP", "provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12", alloc.ErrNotInRange},
		{"the broadcast address", "10.111.255.255", 0, "spec.clusterIP", "provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12", alloc.ErrNotInRange},
		{"an IPv6 address", "fd00::1", 0, "spec.clusterIP", "provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12", alloc.ErrNotInRange},
		{"a taken node port", "", 30080, "spec.ports[0].nodePort", "provided port is already allocated", alloc.ErrAllocated},
		{"a node port outside the range", "", 8080, "spec.ports[0].nodePort", "provided port is not in the valid range. The range of valid ports is 30000-32767", alloc.ErrNotInRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := service("second", corev1.ServiceTypeNodePort, 80)
			svc.Spec.ClusterIP = tt.clusterIP
			svc.Spec.Ports[0].NodePort = tt.nodePort
			err := create(t, ctx, a, st, svc)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("got %v, want %v", err, tt.sentinel)
			}
			errs := fieldErrors(t, err)
			if len(errs) != 1 || errs[0].Field != tt.field || errs[0].Detail != tt.detail {
				t.Fatalf("got %v, want one error on %s: %s", errs, tt.field, tt.detail)
			}
			if keyExists(t, st, servicesRes.StorageKey("default", "second")) {
				t.Errorf("the refused Service was stored")
			}
		})
	}
}

func TestPortsOfOneNumberShareANodePort(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")
	svc := service("dns", corev1.ServiceTypeNodePort, 53, 53)
	svc.Spec.Ports[1].Name, svc.Spec.Ports[1].Protocol = "dns-udp", corev1.ProtocolUDP
	if err := create(t, ctx, a, st, svc); err != nil {
		t.Fatalf("create: %v", err)
	}
	if a, b := svc.Spec.Ports[0].NodePort, svc.Spec.Ports[1].NodePort; a == 0 || a != b {
		t.Errorf("got node ports %d and %d, want one shared port", a, b)
	}
}

func TestLoadBalancersGetNodePortsUnlessTurnedOffAndAHealthCheckPortWhenLocal(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")
	lb := service("lb", corev1.ServiceTypeLoadBalancer, 80)
	lb.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	if err := create(t, ctx, a, st, lb); err != nil {
		t.Fatal(err)
	}
	if lb.Spec.Ports[0].NodePort == 0 || lb.Spec.HealthCheckNodePort == 0 || lb.Spec.HealthCheckNodePort == lb.Spec.Ports[0].NodePort {
		t.Errorf("got nodePort %d, healthCheckNodePort %d, want two distinct ports", lb.Spec.Ports[0].NodePort, lb.Spec.HealthCheckNodePort)
	}
	off := service("lb-off", corev1.ServiceTypeLoadBalancer, 80)
	off.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
	if err := create(t, ctx, a, st, off); err != nil {
		t.Fatal(err)
	}
	if off.Spec.Ports[0].NodePort != 0 {
		t.Errorf("got nodePort %d with allocateLoadBalancerNodePorts false, want 0", off.Spec.Ports[0].NodePort)
	}
}

func TestDeleteReleasesEverythingTheServiceHeld(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")
	svc := service("web", corev1.ServiceTypeNodePort, 80)
	if err := create(t, ctx, a, st, svc); err != nil {
		t.Fatal(err)
	}
	remove(t, ctx, a, st, svc)
	for _, key := range []string{alloc.ServiceIPsPrefix + svc.Spec.ClusterIP, alloc.NodePortsPrefix + itoa(svc.Spec.Ports[0].NodePort)} {
		if keyExists(t, st, key) {
			t.Errorf("%s still exists after the delete", key)
		}
	}
	again := service("again", corev1.ServiceTypeNodePort, 80)
	again.Spec.ClusterIP, again.Spec.Ports[0].NodePort = svc.Spec.ClusterIP, svc.Spec.Ports[0].NodePort
	if err := create(t, ctx, a, st, again); err != nil {
		t.Errorf("asking for the released values: %v", err)
	}
}

func TestUpdateTakesNewValuesAndReleasesDroppedOnes(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")
	old := service("web", corev1.ServiceTypeNodePort, 80, 81)
	if err := create(t, ctx, a, st, old); err != nil {
		t.Fatal(err)
	}
	// Port 80 moves to a requested node port, port 81 keeps its own, and the
	// Service becomes a ClusterIP Service afterwards.
	moved := old.DeepCopy()
	moved.Spec.Ports[0].NodePort = 31999
	if err := update(t, ctx, a, st, old, moved); err != nil {
		t.Fatalf("update: %v", err)
	}
	if keyExists(t, st, alloc.NodePortsPrefix+itoa(old.Spec.Ports[0].NodePort)) || !keyExists(t, st, alloc.NodePortsPrefix+"31999") ||
		!keyExists(t, st, alloc.NodePortsPrefix+itoa(old.Spec.Ports[1].NodePort)) {
		t.Errorf("after moving a node port: want the old one released, 31999 and the kept one held")
	}
	clusterIP := moved.DeepCopy()
	clusterIP.Spec.Type = corev1.ServiceTypeClusterIP
	for i := range clusterIP.Spec.Ports {
		clusterIP.Spec.Ports[i].NodePort = 0
	}
	if err := update(t, ctx, a, st, moved, clusterIP); err != nil {
		t.Fatalf("update to ClusterIP: %v", err)
	}
	if keyExists(t, st, alloc.NodePortsPrefix+"31999") || keyExists(t, st, alloc.NodePortsPrefix+itoa(old.Spec.Ports[1].NodePort)) {
		t.Errorf("node ports still held after the change to type ClusterIP")
	}
	if !keyExists(t, st, alloc.ServiceIPsPrefix+old.Spec.ClusterIP) {
		t.Errorf("the cluster IP was released by an update that kept it")
	}
}

func TestUpdateRefusesANodePortAnotherServiceHolds(t *testing.T) {
	ctx := context.Background()
	a, st := newAllocator(t, "", "")
	one, two := service("one", corev1.ServiceTypeNodePort, 80), service("two", corev1.ServiceTypeNodePort, 80)
	for _, svc := range []*corev1.Service{one, two} {
		if err := create(t, ctx, a, st, svc); err != nil {
			t.Fatal(err)
		}
	}
	steal := two.DeepCopy()
	steal.Spec.Ports[0].NodePort = one.Spec.Ports[0].NodePort
	err := update(t, ctx, a, st, two, steal)
	if errs := fieldErrors(t, err); errs[0].Field != "spec.ports[0].nodePort" || errs[0].Detail != "provided port is already allocated" {
		t.Errorf("got %v, want spec.ports[0].nodePort already allocated", errs)
	}
	if !keyExists(t, st, alloc.NodePortsPrefix+itoa(two.Spec.Ports[0].NodePort)) {
		t.Errorf("a refused update released the Service's node port")
	}
}
