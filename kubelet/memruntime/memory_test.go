package memruntime_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/navarch/navarch/kubelet"
	"github.com/navarch/navarch/kubelet/memruntime"
)

// A hollow node runs about 30 pods; 1,000 of them must fit in a few MB of
// heap each, all of a node's kubelet included. The runtime's share is
// held far below that.
func TestThousandHollowNodesRuntimesStaySmall(t *testing.T) {
	const nodes, podsPerNode = 1000, 30
	const budget = 256 << 10 // bytes per node for the runtime alone
	ctx := context.Background()
	before := heapInUse()
	rts := make([]*memruntime.Runtime, nodes)
	for n := range rts {
		rt, err := memruntime.New(memruntime.Options{PodCIDR: fmt.Sprintf("10.%d.%d.0/24", 100+n/256, n%256),
			Images: []string{"registry.example/app:v1"}})
		if err != nil {
			t.Fatal(err)
		}
		for p := range podsPerNode {
			name := fmt.Sprintf("pod-%d", p)
			sb, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{UID: "uid-" + name, Name: name, Namespace: "default",
				Labels: map[string]string{"app": "web"}})
			if err != nil {
				t.Fatal(err)
			}
			id, err := rt.CreateContainer(ctx, sb.ID, kubelet.ContainerConfig{Name: "app", Image: "registry.example/app:v1",
				Labels: map[string]string{"navarch.dev/pod-uid": "uid-" + name}})
			if err != nil {
				t.Fatal(err)
			}
			if err := rt.StartContainer(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		rts[n] = rt
	}
	perNode := (heapInUse() - before) / nodes
	t.Logf("runtime heap per hollow node with %d running pods: %d bytes", podsPerNode, perNode)
	if perNode > budget {
		t.Errorf("got %d bytes of heap per node, want at most %d", perNode, budget)
	}
	runtime.KeepAlive(rts)
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func TestContainersTurnRunningAfterTheStartDelay(t *testing.T) {
	now := time.Unix(1000, 0)
	rt, err := memruntime.New(memruntime.Options{StartDelay: 5 * time.Second, Images: []string{"app:v1"},
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sb, _ := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{UID: "u", Name: "p", Namespace: "ns"})
	id, err := rt.CreateContainer(ctx, sb.ID, kubelet.ContainerConfig{Name: "c", Image: "app:v1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		after time.Duration
		want  kubelet.ContainerState
	}{
		{0, kubelet.ContainerCreated},
		{4 * time.Second, kubelet.ContainerCreated},
		{5 * time.Second, kubelet.ContainerRunning},
	}
	start := now
	for _, tt := range tests {
		now = start.Add(tt.after)
		st, _ := rt.ContainerStatus(ctx, id)
		if st.State != tt.want {
			t.Errorf("after %s: got %s, want %s", tt.after, st.State, tt.want)
		}
	}
}

func TestIPsAreUniqueAndReusedAfterStop(t *testing.T) {
	rt, err := memruntime.New(memruntime.Options{PodCIDR: "10.1.2.0/29"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	seen := map[string]string{}
	var first kubelet.Sandbox
	for i := range 5 { // .2 … .6 of a /29 (.7 is broadcast)
		sb, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{UID: fmt.Sprint(i), Name: "p", Namespace: "ns"})
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := seen[sb.IP]; ok {
			t.Fatalf("got IP %s twice (%s and %s), want unique", sb.IP, prev, sb.ID)
		}
		seen[sb.IP] = sb.ID
		if i == 0 {
			first = sb
		}
	}
	if _, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{UID: "x", Name: "p", Namespace: "ns"}); err == nil {
		t.Fatal("got a sandbox from an exhausted CIDR, want an error")
	}
	if err := rt.StopPodSandbox(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	sb, err := rt.RunPodSandbox(ctx, kubelet.SandboxConfig{UID: "y", Name: "p", Namespace: "ns"})
	if err != nil || sb.IP != first.IP {
		t.Errorf("got %+v, %v after a stop, want the released IP %s", sb, err, first.IP)
	}
}

func TestNonLoopbackReferencesResolveWithoutNetwork(t *testing.T) {
	d1, err := memruntime.DefaultRegistry(context.Background(), "registry.example/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := memruntime.DefaultRegistry(context.Background(), "registry.example/app:v2")
	if d1 == d2 || len(d1) != len("sha256:")+64 {
		t.Errorf("got digests %q and %q, want distinct sha256 digests", d1, d2)
	}
}
