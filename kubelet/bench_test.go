package kubelet_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/kubelet"
)

// runningWatch watches the default namespace and records, per pod name,
// when it was first seen Running with every container running.
type runningWatch struct {
	mu   sync.Mutex
	seen map[string]time.Time
	w    watch.Interface
	done chan struct{}
}

func watchRunning(tb testing.TB, cs kubernetes.Interface) *runningWatch {
	tb.Helper()
	w, err := cs.CoreV1().Pods("default").Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	r := &runningWatch{seen: map[string]time.Time{}, w: w, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || !running(p) {
				continue
			}
			r.mu.Lock()
			if _, ok := r.seen[p.Name]; !ok {
				r.seen[p.Name] = time.Now()
			}
			r.mu.Unlock()
		}
	}()
	tb.Cleanup(func() { w.Stop(); <-r.done })
	return r
}

// wait returns when name was seen Running, or fails after timeout.
func (r *runningWatch) wait(tb testing.TB, name string, timeout time.Duration) time.Time {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		t, ok := r.seen[name]
		r.mu.Unlock()
		if ok {
			return t
		}
		time.Sleep(time.Millisecond)
	}
	tb.Fatalf("pod %s not Running within %s", name, timeout)
	return time.Time{}
}

// bind binds the pod to node through the binding subresource, as the
// scheduler does.
func bind(tb testing.TB, cs kubernetes.Interface, name, node string) {
	tb.Helper()
	err := cs.CoreV1().Pods("default").Bind(context.Background(), &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkPodBoundToRunning creates pods unbound, then binds them one at
// a time to a node on real containerd (the image is local), and measures
// through a watch the time from the binding to the pod reported Running.
// It reports the p50 and p99 over the pods (goals: 500 ms and 1.5 s).
func BenchmarkPodBoundToRunning(b *testing.B) {
	const pods = 100
	srv := testserver.Start(b)
	cs := srv.ClientSet()
	startRealNode(b, srv, "bench1", func(o *kubelet.Options) { o.Logger = testLogger() })
	waitReadyNode(b, cs, "bench1")
	rw := watchRunning(b, cs)
	b.ResetTimer()
	for i := range b.N {
		var lat []time.Duration
		for j := range pods {
			name := fmt.Sprintf("lat-%d-%d", i, j)
			p := testPod(name, "", []string{"sleep"})
			if _, err := cs.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			bind(b, cs, name, "bench1")
			lat = append(lat, rw.wait(b, name, time.Minute).Sub(start))
		}
		b.ReportMetric(float64(percentile(lat, 0.50).Milliseconds()), "p50-ms")
		b.ReportMetric(float64(percentile(lat, 0.99).Milliseconds()), "p99-ms")
		b.ReportMetric(float64(percentile(lat, 1).Milliseconds()), "max-ms")
		b.StopTimer()
		deleteAll(b, cs)
		b.StartTimer()
	}
}

// BenchmarkFiftyPodsOnOneNode binds 50 pods to one node at once and
// measures until all are seen Running (goal: 15 s).
func BenchmarkFiftyPodsOnOneNode(b *testing.B) {
	const pods = 50
	srv := testserver.Start(b)
	cs := srv.ClientSet()
	startRealNode(b, srv, "bench2", func(o *kubelet.Options) { o.Logger = testLogger() })
	waitReadyNode(b, cs, "bench2")
	rw := watchRunning(b, cs)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		for j := range pods {
			p := testPod(fmt.Sprintf("fifty-%d-%d", i, j), "bench2", []string{"sleep"})
			if _, err := cs.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		var last time.Time
		for j := range pods {
			if t := rw.wait(b, fmt.Sprintf("fifty-%d-%d", i, j), time.Minute); t.After(last) {
				last = t
			}
		}
		b.ReportMetric(last.Sub(start).Seconds(), "s-all-running")
		b.StopTimer()
		deleteAll(b, cs)
		b.StartTimer()
	}
}

func waitReadyNode(tb testing.TB, cs kubernetes.Interface, name string) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			if c := nodeCondition(n, corev1.NodeReady); c != nil && c.Status == corev1.ConditionTrue {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("node %s not Ready", name)
}

// deleteAll deletes the default namespace's pods and waits until they are
// gone.
func deleteAll(tb testing.TB, cs kubernetes.Interface) {
	tb.Helper()
	ctx := context.Background()
	if err := cs.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(1))}, metav1.ListOptions{}); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		l, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err == nil && len(l.Items) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatal("pods not deleted within 2 minutes")
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}
