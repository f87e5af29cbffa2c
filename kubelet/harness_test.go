package kubelet_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/internal/testimage"
	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/kubelet"
	"github.com/navarch/navarch/kubelet/memruntime"
)

// testLogger discards logs unless NAVARCH_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("NAVARCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// fastOptions are kubelet options with short periods, for tests.
func fastOptions(name string, cs kubernetes.Interface, dataDir string) kubelet.Options {
	return kubelet.Options{
		NodeName: name, Client: cs, DataDir: dataDir, NodeIP: "127.0.0.1", Hostname: name,
		Backoff:                   kubelet.BackoffPolicy{Initial: 500 * time.Millisecond, Max: 4 * time.Second, ResetAfter: time.Minute},
		SyncPeriod:                5 * time.Second,
		RelistPeriod:              200 * time.Millisecond,
		NodeStatusUpdateFrequency: 500 * time.Millisecond,
		LeaseRenewInterval:        time.Second,
		GCPeriod:                  2 * time.Second,
		Logger:                    testLogger(),
	}
}

// runningKubelet is a kubelet run by a test until it ends.
type runningKubelet struct {
	*kubelet.Kubelet
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// runKubelet starts a kubelet with opts and stops it when the test ends.
func runKubelet(t testing.TB, opts kubelet.Options) *runningKubelet {
	t.Helper()
	k, err := kubelet.New(opts)
	if err != nil {
		t.Fatalf("new kubelet: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningKubelet{Kubelet: k, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- k.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// stop stops the kubelet (containers keep running) and waits for it.
func (r *runningKubelet) stop() {
	r.once.Do(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			panic("kubelet did not stop within 30s")
		}
	})
}

// testappBehavior simulates the test image's program on memruntime.
func testappBehavior(argv []string) memruntime.Behavior {
	d := testimage.Describe(argv)
	return memruntime.Behavior{Exits: d.Exits, ExitAfter: d.ExitAfter, ExitCode: d.ExitCode,
		IgnoreSIGTERM: d.IgnoreSIGTERM, Output: d.Output}
}

// memNode runs a kubelet on an in-memory runtime as node name.
func memNode(t *testing.T, srv *testserver.Server, name string, change ...func(*kubelet.Options)) (*runningKubelet, *memruntime.Runtime) {
	t.Helper()
	rt, err := memruntime.New(memruntime.Options{Behave: testappBehavior, Images: []string{testimage.Ref}, PodCIDR: "10.77.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	opts := fastOptions(name, srv.ClientSetFor(srv.NodeToken(name)), t.TempDir())
	opts.Runtime = rt
	opts.Machine = kubelet.FakeMachine{MachineInfo: kubelet.MachineInfo{NumCores: 4, MemoryCapacity: 8 << 30, OperatingSystem: "linux", Architecture: "amd64"}}
	for _, f := range change {
		f(&opts)
	}
	return runKubelet(t, opts), rt
}

// testPod is a pod of the test image bound to node, one container per
// args list ("c0", "c1" …).
func testPod(name, node string, args ...[]string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName: node, TerminationGracePeriodSeconds: ptr(int64(5)),
		},
	}
	for i, a := range args {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{
			Name: fmt.Sprintf("c%d", i), Image: testimage.Ref, Args: a, ImagePullPolicy: corev1.PullIfNotPresent,
		})
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// waitPod watches pod until cond holds and returns it; it fails the test
// after timeout with the last state seen.
func waitPod(t *testing.T, cs kubernetes.Interface, ns, name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last *corev1.Pod
	for ctx.Err() == nil {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: rvOf(p),
		})
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted {
				last = p
				if cond(p) {
					w.Stop()
					return p
				}
			}
		}
	}
	t.Fatalf("pod %s/%s: %s not reached within %s; last status: %s", ns, name, what, timeout, describe(last))
	return nil
}

func rvOf(p *corev1.Pod) string {
	if p == nil {
		return ""
	}
	return p.ResourceVersion
}

// waitGone waits until the pod is deleted from the API.
func waitGone(t *testing.T, cs kubernetes.Interface, ns, name string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, err := cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pod %s/%s still exists after %s", ns, name, timeout)
}

// describe renders a pod's status for failure messages.
func describe(p *corev1.Pod) string {
	if p == nil {
		return "<none>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s ip=%s", p.Status.Phase, p.Status.PodIP)
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
	}
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, " [%s ready=%v restarts=%d", cs.Name, cs.Ready, cs.RestartCount)
		switch {
		case cs.State.Running != nil:
			b.WriteString(" running")
		case cs.State.Waiting != nil:
			fmt.Fprintf(&b, " waiting %s: %s", cs.State.Waiting.Reason, cs.State.Waiting.Message)
		case cs.State.Terminated != nil:
			fmt.Fprintf(&b, " terminated %d %s: %s", cs.State.Terminated.ExitCode, cs.State.Terminated.Reason, cs.State.Terminated.Message)
		}
		if lt := cs.LastTerminationState.Terminated; lt != nil {
			fmt.Fprintf(&b, " last=%d %s: %s", lt.ExitCode, lt.Reason, lt.Message)
		}
		b.WriteString("]")
	}
	return b.String()
}

// podReady reports the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func running(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

func nodeCondition(n *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// waitNode polls the node until cond holds.
func waitNode(t *testing.T, cs kubernetes.Interface, name string, timeout time.Duration, what string, cond func(*corev1.Node) bool) *corev1.Node {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *corev1.Node
	for time.Now().Before(deadline) {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = n
			if cond(n) {
				return n
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("node %s: %s not reached within %s; last conditions: %+v", name, what, timeout, conditionsOf(last))
	return nil
}

func conditionsOf(n *corev1.Node) []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, c := range n.Status.Conditions {
		out = append(out, fmt.Sprintf("%s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return out
}
