package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/kubelet/hollow"
)

// BenchmarkSchedulingThroughput is a scheduler_perf-style harness through
// the real API server: N hollow nodes register (real kubelets on the
// in-memory runtime), M pending pods are created, then the scheduler
// shell starts and the time until every pod is bound is measured from a
// watch of the pods. pods/s counts from the first binding seen to the
// last; the hollow kubelets start the pods meanwhile, as a cluster would.
//
//	go test ./scheduler -run '^$' -bench SchedulingThroughput -benchtime 1x
//
// The "objects" variants are kube-scheduler's own scheduler_perf setup:
// the nodes are Node objects with no kubelet, so nothing runs the pods and
// the API server serves the scheduler alone.
//
// Each run logs the cores the whole process used while it was measured;
// NAVARCH_PERF_CPUPROFILE=<file> writes a CPU profile of that window
// alone to <file>.<run>.
func BenchmarkSchedulingThroughput(b *testing.B) {
	b.Run("1000nodes-10000pods", func(b *testing.B) { schedulingPerf(b, 1000, 10000, false, true) })
	b.Run("1000nodes-1000pods-antiaffinity", func(b *testing.B) { schedulingPerf(b, 1000, 1000, true, true) })
	b.Run("1000objects-10000pods", func(b *testing.B) { schedulingPerf(b, 1000, 10000, false, false) })
	b.Run("1000objects-1000pods-antiaffinity", func(b *testing.B) { schedulingPerf(b, 1000, 1000, true, false) })
}

func schedulingPerf(b *testing.B, numNodes, numPods int, anti, kubelets bool) {
	srv := testserver.Start(b)
	// The nodes and the test share a client at 1,000 QPS (which paces a
	// thousand kubelets registering at once); the scheduler has its own.
	cs := srv.ClientSet()
	cfg := srv.RESTConfig()
	cfg.QPS, cfg.Burst = 5000, 10000
	// Its own connection: client-go shares one HTTP/2 connection among
	// clients of the same TLS settings, and a thousand kubelets keep it
	// busy; a scheduler runs in its own process.
	cfg.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	schedClient, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := time.Now()
	if kubelets {
		nodes, err := hollow.Start(context.Background(), hollow.Options{Count: numNodes, NamePrefix: "perf-", Client: cs, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = nodes.Stop() })
		waitNodesReady(b, cs, numNodes)
		b.Logf("%d hollow nodes ready in %s", numNodes, time.Since(start).Round(time.Millisecond))
	} else {
		for _, n := range syntheticNodes(numNodes) {
			if _, err := cs.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}

	var total float64
	for i := 0; i < b.N; i++ {
		ns := fmt.Sprintf("perf-%d", i)
		if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		createPending(b, cs, ns, numPods, anti)
		bound := watchBound(b, cs, ns, numPods)
		sh, err := NewShell(ShellOptions{Client: schedClient, Logger: perfLogger(quiet)})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		stopProfile := startWindowProfile(b, i)
		b.StartTimer()
		t0, cpu0 := time.Now(), processCPU()
		go func() { done <- sh.Run(ctx) }()
		first, last := bound.wait(b, 5*time.Minute)
		wall, cpu := time.Since(t0), processCPU()-cpu0
		b.StopTimer()
		stopProfile()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		rate := float64(numPods-1) / last.Sub(first).Seconds()
		total += rate
		st := sh.Stats()
		b.Logf("%d pods bound on %d nodes: %.0f pods/s from first to last binding, %s from scheduler start (%.0f pods/s); attempts %d, bind errors %d; the process used %.2f cores meanwhile (%.2f ms of CPU per pod)",
			numPods, numNodes, rate, wall.Round(time.Millisecond), float64(numPods)/wall.Seconds(), st.Attempts, st.BindErrors,
			cpu.Seconds()/wall.Seconds(), float64(cpu.Microseconds())/1000/float64(numPods))
	}
	b.ReportMetric(total/float64(b.N), "pods/s")
}

var nodeReadyTimeout = 5 * time.Minute

func waitNodesReady(b *testing.B, cs kubernetes.Interface, n int) {
	b.Helper()
	deadline := time.Now().Add(nodeReadyTimeout)
	for {
		l, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		ready := 0
		if err == nil {
			for _, node := range l.Items {
				for _, c := range node.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
						ready++
					}
				}
			}
		}
		if ready >= n {
			return
		}
		if time.Now().After(deadline) {
			if err == nil && len(l.Items) > 0 {
				b.Logf("a node's status: %+v", l.Items[0].Status.Conditions)
			}
			b.Fatalf("%d of %d nodes ready after 5 minutes (%d registered, list error %v)", ready, n, len(l.Items), err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// createPending creates n pods (100m cpu, 128Mi each), 64 at a time; with
// anti, every pod refuses to share a node with another (required
// anti-affinity on kubernetes.io/hostname).
func createPending(b *testing.B, cs kubernetes.Interface, ns string, n int, anti bool) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := 0; w < 64; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				p := perfPod(ns, i, anti)
				if _, err := cs.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatalf("create pods: %v", err)
	}
}

func perfPod(ns string, i int, anti bool) *corev1.Pod {
	p := syntheticPod("perf", i, anti)
	p.Namespace, p.UID, p.OwnerReferences = ns, "", nil
	p.Spec.Containers[0].Image = "registry.example/pause:1"
	p.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory] = mustQuantity("128Mi")
	return p
}

// boundWatch counts pods as they get a node.
type boundWatch struct {
	done        chan struct{}
	first, last time.Time
}

func watchBound(b *testing.B, cs kubernetes.Interface, ns string, n int) *boundWatch {
	b.Helper()
	list, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	w, err := cs.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		b.Fatal(err)
	}
	bw := &boundWatch{done: make(chan struct{})}
	go func() {
		defer w.Stop()
		seen := map[string]bool{}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted || p.Spec.NodeName == "" || seen[p.Name] {
				continue
			}
			seen[p.Name] = true
			now := time.Now()
			if len(seen) == 1 {
				bw.first = now
			}
			if len(seen) == n {
				bw.last = now
				close(bw.done)
				return
			}
		}
	}()
	return bw
}

func (bw *boundWatch) wait(b *testing.B, d time.Duration) (first, last time.Time) {
	b.Helper()
	select {
	case <-bw.done:
		return bw.first, bw.last
	case <-time.After(d):
		b.Fatalf("not every pod bound within %s", d)
		return
	}
}

// processCPU is the CPU time the process has used so far, user and
// system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startWindowProfile writes a CPU profile of the measured window alone
// (from the scheduler's start to the last binding) to the file
// NAVARCH_PERF_CPUPROFILE names, suffixed with the run's index; it returns
// the function that stops it. Without the variable it does nothing.
func startWindowProfile(b *testing.B, run int) func() {
	b.Helper()
	path := os.Getenv("NAVARCH_PERF_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", path, run))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatalf("cpu profile: %v (-cpuprofile and NAVARCH_PERF_CPUPROFILE do not go together)", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

func perfLogger(quiet *slog.Logger) *slog.Logger {
	if os.Getenv("NAVARCH_PERF_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return quiet
}
