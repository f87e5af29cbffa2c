package hollow_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/kubelet"
	"github.com/navarch/navarch/kubelet/hollow"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startHollow(tb testing.TB, srv *testserver.Server, count int, delay time.Duration) *hollow.Nodes {
	tb.Helper()
	n, err := hollow.Start(context.Background(), hollow.Options{
		Count: count, Client: srv.ClientSet(), StartDelay: delay, Logger: quiet(),
		Kubelet: func(o *kubelet.Options) { o.RelistPeriod = 200 * time.Millisecond },
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := n.Stop(); err != nil {
			tb.Errorf("stop hollow nodes: %v", err)
		}
	})
	return n
}

// waitNodesReady polls until count nodes report Ready and have a Lease.
func waitNodesReady(tb testing.TB, cs kubernetes.Interface, count int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	ready, leases := 0, 0
	for time.Now().Before(deadline) {
		nodes, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: "navarch.dev/hollow=true"})
		if err == nil {
			ready = 0
			for _, n := range nodes.Items {
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
		}
		ls, err := cs.CoordinationV1().Leases(kubelet.NodeLeaseNamespace).List(context.Background(), metav1.ListOptions{})
		if err == nil {
			leases = countHeld(ls.Items)
		}
		if ready == count && leases == count {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("after %s: %d of %d nodes Ready, %d leases", timeout, ready, count, leases)
}

func countHeld(ls []coordinationv1.Lease) int {
	n := 0
	for _, l := range ls {
		if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == l.Name {
			n++
		}
	}
	return n
}

// createPods binds count pods round-robin to nodes.
func createPods(tb testing.TB, cs kubernetes.Interface, names []string, count int) {
	tb.Helper()
	for i := range count {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: "default"},
			Spec: corev1.PodSpec{NodeName: names[i%len(names)], Containers: []corev1.Container{
				{Name: "app", Image: "registry.example/app:v1"},
			}},
		}
		if _, err := cs.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
}

// waitPodsReady polls until count pods are Running and Ready.
func waitPodsReady(tb testing.TB, cs kubernetes.Interface, count int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	ready := 0
	for time.Now().Before(deadline) {
		pods, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
		if err == nil {
			ready = 0
			for _, p := range pods.Items {
				for _, c := range p.Status.Conditions {
					if p.Status.Phase == corev1.PodRunning && c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
			if ready == count {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("after %s: %d of %d pods Running and Ready", timeout, ready, count)
}

func TestHundredHollowNodesRegisterAndRunPods(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	n := startHollow(t, srv, 100, 0)
	waitNodesReady(t, cs, 100, time.Minute)
	createPods(t, cs, n.Names(), 300)
	waitPodsReady(t, cs, 300, time.Minute)
	pods, _ := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{FieldSelector: "spec.nodeName=hollow-node-7"})
	if len(pods.Items) != 3 {
		t.Fatalf("pods of hollow-node-7: got %d, want 3", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Status.HostIP != "100.64.0.7" || p.Status.PodIP == "" {
			t.Errorf("pod %s: got hostIP %q podIP %q, want 100.64.0.7 and an IP", p.Name, p.Status.HostIP, p.Status.PodIP)
		}
	}
}

func TestHollowPodsTurnRunningAfterTheStartDelay(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	n := startHollow(t, srv, 3, 1500*time.Millisecond)
	waitNodesReady(t, cs, 3, 30*time.Second)
	start := time.Now()
	createPods(t, cs, n.Names(), 3)
	time.Sleep(700 * time.Millisecond)
	pods, _ := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning {
			t.Errorf("pod %s Running after %v, want Pending until the 1.5s start delay", p.Name, time.Since(start))
		}
	}
	waitPodsReady(t, cs, 3, 10*time.Second)
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("pods Ready after %v, want after the start delay", took)
	}
}

// BenchmarkThousandHollowNodes starts 1,000 hollow nodes (with 3,000
// pods) in the benchmark's process and reports the heap they add per
// node. The API server and etcd run in the same process, so the figure is
// an upper bound.
func BenchmarkThousandHollowNodes(b *testing.B) {
	const count = 1000
	for range b.N {
		srv := testserver.Start(b)
		cs := srv.ClientSet()
		before := heap()
		start := time.Now()
		n := startHollow(b, srv, count, 0)
		waitNodesReady(b, cs, count, 5*time.Minute)
		registered := time.Since(start)
		createPods(b, cs, n.Names(), 3*count)
		waitPodsReady(b, cs, 3*count, 5*time.Minute)
		after := heap()
		b.ReportMetric(float64(after-before)/count/(1<<20), "MiB-heap/node")
		b.ReportMetric(registered.Seconds(), "s-to-register")
		b.ReportMetric(float64(runtime.NumGoroutine())/count, "goroutines/node")
		n.Stop()
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
