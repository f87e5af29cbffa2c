package apiserver_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/apiserver"
	"github.com/navarch/navarch/apiserver/alloc"
	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/store"
)

// withRanges gives a test server a Service CIDR and node port range.
func withRanges(cidr, ports string) testserver.Option {
	return testserver.WithServerOptions(func(o *apiserver.Options) {
		o.ServiceCIDR, o.NodePortRange = cidr, ports
	})
}

// allocationKey reports whether st holds the allocation key of an address
// or node port.
func allocationKey(t *testing.T, st *store.Store, prefix, value string) bool {
	t.Helper()
	err := st.Get(context.Background(), prefix+value, &corev1.RangeAllocation{})
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("get allocation %s%s: %v", prefix, value, err)
	}
	return true
}

func TestRefusedServiceRequestsAre422WithKubernetesWording(t *testing.T) {
	srv := testserver.Start(t, withRanges("10.97.0.0/24", "30100-30199"))
	ctx := ctxT(t)
	svcs := srv.ClientSet().CoreV1().Services("default")
	first := newService("first", corev1.ServiceTypeNodePort)
	first.Spec.ClusterIP = "10.97.0.50"
	first.Spec.Ports[0].NodePort = 30150
	if _, err := svcs.Create(ctx, first, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		clusterIP string
		nodePort  int32
		want      string
	}{
		{"ip-outside-the-cidr", "10.96.0.50", 0, "spec.clusterIP: Invalid value: \"10.96.0.50\": provided IP is not in the valid range. The range of valid IPs is 10.97.0.0/24"},
		{"ip-taken", "10.97.0.50", 0, "spec.clusterIP: Invalid value: \"10.97.0.50\": provided IP is already allocated"},
		{"port-taken", "", 30150, "spec.ports[0].nodePort: Invalid value: 30150: provided port is already allocated"},
		{"port-outside-the-range", "", 30000, "spec.ports[0].nodePort: Invalid value: 30000: provided port is not in the valid range. The range of valid ports is 30100-30199"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newService(tt.name, corev1.ServiceTypeNodePort)
			svc.Spec.ClusterIP = tt.clusterIP
			svc.Spec.Ports[0].NodePort = tt.nodePort
			_, err := svcs.Create(ctx, svc, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) {
				t.Fatalf("got %v, want 422 Invalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to say %q", err.Error(), tt.want)
			}
		})
	}

	// An update asking for a taken node port is refused the same way.
	second, err := svcs.Create(ctx, newService("second", corev1.ServiceTypeNodePort), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second.Spec.Ports[0].NodePort = 30150
	if _, err := svcs.Update(ctx, second, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("an update to a taken node port: got %v, want 422", err)
	}
}

func TestServiceAllocationsAreKeptInEtcdAndReleasedOnEveryDeletePath(t *testing.T) {
	srv := testserver.Start(t, withRanges("10.97.1.0/24", ""))
	ctx := ctxT(t)
	cs := srv.ClientSet()
	st := srv.Store()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svcs := cs.CoreV1().Services("shop")

	create := func(name string, typ corev1.ServiceType) *corev1.Service {
		t.Helper()
		svc, err := svcs.Create(ctx, newService(name, typ), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !allocationKey(t, st, alloc.ServiceIPsPrefix, svc.Spec.ClusterIP) {
			t.Fatalf("%s: no key for its cluster IP %s", name, svc.Spec.ClusterIP)
		}
		return svc
	}
	released := func(svc *corev1.Service, how string) {
		t.Helper()
		if allocationKey(t, st, alloc.ServiceIPsPrefix, svc.Spec.ClusterIP) {
			t.Errorf("%s: the key of %s's cluster IP %s is still there", how, svc.Name, svc.Spec.ClusterIP)
		}
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 && allocationKey(t, st, alloc.NodePortsPrefix, strconv.Itoa(int(p.NodePort))) {
				t.Errorf("%s: the key of %s's node port %d is still there", how, svc.Name, p.NodePort)
			}
		}
	}

	// DELETE.
	one := create("one", corev1.ServiceTypeNodePort)
	if err := svcs.Delete(ctx, "one", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	released(one, "DELETE")
	again := newService("again", "")
	again.Spec.ClusterIP = one.Spec.ClusterIP
	if _, err := svcs.Create(ctx, again, metav1.CreateOptions{}); err != nil {
		t.Errorf("asking for a released address: %v", err)
	}

	// A finalizer holds the values until the last one is removed by a PATCH.
	held := newService("held", "")
	held.Finalizers = []string{"example.com/wait"}
	held, err := svcs.Create(ctx, held, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svcs.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if !allocationKey(t, st, alloc.ServiceIPsPrefix, held.Spec.ClusterIP) {
		t.Errorf("a Service waiting for its finalizer lost its address")
	}
	if _, err := svcs.Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	released(held, "the last finalizer's removal")

	// deletecollection.
	a, b := create("a", ""), create("b", corev1.ServiceTypeNodePort)
	if resp := rawClient(t, srv, srv.AdminToken()).do("DELETE", "/api/v1/namespaces/shop/services", nil); resp.code != 200 {
		t.Fatalf("deletecollection: got %d %s", resp.code, resp.body)
	}
	released(a, "deletecollection")
	released(b, "deletecollection")

	// A type change away from NodePort gives its port back; one to
	// NodePort by server-side apply takes one.
	c := create("c", corev1.ServiceTypeNodePort)
	cPort := c.Spec.Ports[0].NodePort
	c.Spec.Type = corev1.ServiceTypeClusterIP
	c.Spec.Ports[0].NodePort = 0
	if _, err := svcs.Update(ctx, c, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if allocationKey(t, st, alloc.NodePortsPrefix, strconv.Itoa(int(cPort))) {
		t.Errorf("the node port %d of a Service changed to ClusterIP is still held", cPort)
	}
	apply := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"c"},"spec":{"type":"NodePort","selector":{"app":"c"},"ports":[{"name":"http","port":80}]}}`
	applied, err := svcs.Patch(ctx, "c", types.ApplyPatchType, []byte(apply), metav1.PatchOptions{FieldManager: "test", Force: ptrBool(true)})
	if err != nil {
		t.Fatal(err)
	}
	port := applied.Spec.Ports[0].NodePort
	if port == 0 || !allocationKey(t, st, alloc.NodePortsPrefix, strconv.Itoa(int(port))) {
		t.Errorf("server-side apply to NodePort: node port %d, want one with its key", port)
	}

	// Server-side apply creating a Service takes its values with it.
	applyNew := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"d"},"spec":{"type":"NodePort","selector":{"app":"d"},"ports":[{"name":"http","port":80}]}}`
	d, err := svcs.Patch(ctx, "d", types.ApplyPatchType, []byte(applyNew), metav1.PatchOptions{FieldManager: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !allocationKey(t, st, alloc.ServiceIPsPrefix, d.Spec.ClusterIP) || !allocationKey(t, st, alloc.NodePortsPrefix, strconv.Itoa(int(d.Spec.Ports[0].NodePort))) {
		t.Errorf("server-side apply of a new Service: no keys for %s and %d", d.Spec.ClusterIP, d.Spec.Ports[0].NodePort)
	}

	// The Service written by server-side apply lets go of all it holds.
	if err := svcs.Delete(ctx, "c", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	released(applied, "DELETE after server-side apply")
}

func TestADryRunAllocatesNothing(t *testing.T) {
	srv := testserver.Start(t, withRanges("10.97.2.0/24", ""))
	ctx := ctxT(t)
	svcs := srv.ClientSet().CoreV1().Services("default")
	svc := newService("dry", corev1.ServiceTypeNodePort)
	svc.Spec.ClusterIP = "10.97.2.20"
	got, err := svcs.Create(ctx, svc, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.ClusterIP != "10.97.2.20" || got.Spec.Ports[0].NodePort == 0 {
		t.Errorf("dry run answered cluster IP %q node port %d, want the address asked for and a port", got.Spec.ClusterIP, got.Spec.Ports[0].NodePort)
	}
	if allocationKey(t, srv.Store(), alloc.ServiceIPsPrefix, "10.97.2.20") ||
		allocationKey(t, srv.Store(), alloc.NodePortsPrefix, strconv.Itoa(int(got.Spec.Ports[0].NodePort))) {
		t.Errorf("a dry run left allocation keys behind")
	}
	other := newService("other", "")
	other.Spec.ClusterIP = "10.97.2.20"
	if _, err := svcs.Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Errorf("the address a dry run answered with: got %v, want it free", err)
	}
}

func TestTwoAPIServersOnOneEtcdNeverHandOutOneClusterIPTwice(t *testing.T) {
	// A /27 has 30 usable addresses, 29 of them drawable: 20 creates in it
	// collide often when allocations are not shared.
	const cidr = "10.97.3.0/27"
	one := testserver.Start(t, withRanges(cidr, ""))
	two := testserver.Start(t, withRanges(cidr, ""), testserver.WithStoreOptions(func(o *store.Options) {
		o.DataDir = ""
		o.Endpoints = one.Store().Client().Endpoints()
	}))
	ctx := ctxT(t)
	clients := []kubernetes.Interface{one.ClientSet(), two.ClientSet()}

	const n = 20
	var wg sync.WaitGroup
	got := make([]*corev1.Service, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			got[i], errs[i] = clients[i%2].CoreV1().Services("default").Create(ctx, newService(fmt.Sprintf("svc-%d", i), ""), metav1.CreateOptions{})
		}(i)
	}
	wg.Wait()

	owner := map[string]string{}
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Errorf("create svc-%d: %v", i, errs[i])
			continue
		}
		ip := got[i].Spec.ClusterIP
		if prev, dup := owner[ip]; dup {
			t.Errorf("%s and %s both got %s", prev, got[i].Name, ip)
		}
		owner[ip] = got[i].Name
	}
	// What both servers see agrees with what they answered.
	list, err := one.ClientSet().CoreV1().Services("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, svc := range list.Items {
		if svc.Spec.ClusterIP != "" {
			stored[svc.Spec.ClusterIP]++
		}
	}
	for ip, count := range stored {
		if count > 1 {
			t.Errorf("%d stored Services hold %s", count, ip)
		}
	}
	if len(owner) != n {
		t.Errorf("got %d distinct addresses, want %d", len(owner), n)
	}
}

func TestAdmitKeepsTheServicesOfOneTransactionApart(t *testing.T) {
	// A /28: 13 drawable addresses for 12 Services of one revision, whose
	// plans all read etcd before any is written.
	srv := testserver.Start(t, withRanges("10.97.4.0/28", "30200-30211"))
	ctx := ctxT(t)
	adm := srv.API()
	var ops []store.Op
	var svcs []*corev1.Service
	for i := 0; i < 12; i++ {
		svc := newService(fmt.Sprintf("s%d", i), corev1.ServiceTypeNodePort)
		svc.Namespace = "default"
		got, err := adm.Admit(ctx, apiserver.AdmitCreate, resourceOf(t, svc), svc, nil, "navarch-reconciler")
		if err != nil {
			t.Fatalf("admit %s: %v", svc.Name, err)
		}
		if len(got) != 3 {
			t.Errorf("admit %s: got %d ops, want the Service, its address and its port", svc.Name, len(got))
		}
		ops = append(ops, got...)
		svcs = append(svcs, svc)
	}
	if _, err := srv.Store().Txn(ctx, ops); err != nil {
		t.Fatalf("txn: %v", err)
	}
	// A thirteenth Service asking for a taken port is refused.
	late := newService("late", corev1.ServiceTypeNodePort)
	late.Namespace = "default"
	late.Spec.Ports[0].NodePort = svcs[0].Spec.Ports[0].NodePort
	if _, err := adm.Admit(ctx, apiserver.AdmitCreate, resourceOf(t, late), late, nil, "m"); !apierrors.IsInvalid(err) {
		t.Errorf("admit of a taken node port: got %v, want 422", err)
	}

	// Deleting releases in the same ops.
	live, err := srv.ClientSet().CoreV1().Services("default").Get(ctx, "s0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	del, err := adm.Admit(ctx, apiserver.AdmitDelete, resourceOf(t, live), nil, live, "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store().Txn(ctx, del); err != nil {
		t.Fatal(err)
	}
	if allocationKey(t, srv.Store(), alloc.ServiceIPsPrefix, live.Spec.ClusterIP) ||
		allocationKey(t, srv.Store(), alloc.NodePortsPrefix, strconv.Itoa(int(live.Spec.Ports[0].NodePort))) {
		t.Errorf("an admitted delete left the Service's allocations behind (ops %d)", len(del))
	}
}

func TestTheServerRepairsAllocationsAtStart(t *testing.T) {
	srv := testserver.Start(t, withRanges("10.97.5.0/24", ""))
	ctx := ctxT(t)
	// A Service written around the allocator (as before it existed) has
	// no key; an allocation whose Service is gone leaks one.
	svc := newService("legacy", "")
	svc.Namespace = "default"
	svc.UID = "legacy-uid"
	svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "10.97.5.77", []string{"10.97.5.77"}
	res := resourceOf(t, svc)
	if err := srv.Store().Create(ctx, res.StorageKey("default", "legacy"), svc); err != nil {
		t.Fatal(err)
	}
	leak := &corev1.RangeAllocation{ObjectMeta: metav1.ObjectMeta{
		Name: "10.97.5.88", Namespace: "default",
		CreationTimestamp: metav1.Date(2020, 1, 1, 0, 0, 0, 0, metav1.Now().Location()),
		OwnerReferences:   []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: "gone", UID: "gone-uid"}},
	}, Range: "10.97.5.0/24"}
	if err := srv.Store().Create(ctx, alloc.ServiceIPsPrefix+"10.97.5.88", leak); err != nil {
		t.Fatal(err)
	}

	srv.Restart()
	if !allocationKey(t, srv.Store(), alloc.ServiceIPsPrefix, "10.97.5.77") {
		t.Errorf("after a restart: no key for the legacy Service's address")
	}
	if allocationKey(t, srv.Store(), alloc.ServiceIPsPrefix, "10.97.5.88") {
		t.Errorf("after a restart: the leaked key is still there")
	}
	taken := newService("taken", "")
	taken.Spec.ClusterIP = "10.97.5.77"
	if _, err := srv.ClientSet().CoreV1().Services("default").Create(ctx, taken, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("asking for the legacy Service's address: got %v, want 422", err)
	}
}
