package kubelet_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/testimage"
	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/kubelet"
	"github.com/navarch/navarch/kubelet/memruntime"
)

func TestCrashingContainerBacksOffWithGrowingDelays(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	memNode(t, srv, "n1")
	pod := testPod("crash", "n1", []string{"exit", "3"})
	if _, err := cs.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Restarts happen at once, then after 0.5s, 1s, 2s (the test's curve).
	restartedAt := map[int32]time.Time{}
	sawBackOff := false
	p := waitPod(t, cs, "default", "crash", 20*time.Second, "restartCount 4", func(p *corev1.Pod) bool {
		if len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		c := p.Status.ContainerStatuses[0]
		if _, ok := restartedAt[c.RestartCount]; !ok {
			restartedAt[c.RestartCount] = time.Now()
		}
		if w := c.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			sawBackOff = true
			if !strings.Contains(w.Message, "restarting failed container=c0 pod=crash_default") {
				t.Errorf("CrashLoopBackOff message: got %q", w.Message)
			}
		}
		return c.RestartCount >= 4
	})
	if !sawBackOff {
		t.Errorf("never saw CrashLoopBackOff; last: %s", describe(p))
	}
	gap := func(n int32) time.Duration { return restartedAt[n].Sub(restartedAt[n-1]) }
	if gap(4) <= gap(3) || gap(3) <= gap(2) {
		t.Errorf("restart gaps: got %v, %v, %v; want growing", gap(2), gap(3), gap(4))
	}
	if gap(4) < 1500*time.Millisecond {
		t.Errorf("gap before restart 4: got %v, want about 2s", gap(4))
	}
	last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
	if last == nil || last.ExitCode != 3 || last.Reason != "Error" {
		t.Errorf("lastState: got %+v, want terminated with exit code 3 and reason Error", last)
	}
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("phase: got %s, want Running (restartPolicy Always)", p.Status.Phase)
	}
}

func TestRestartPoliciesDecidePhase(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	memNode(t, srv, "n1")
	tests := []struct {
		name      string
		policy    corev1.RestartPolicy
		args      []string
		phase     corev1.PodPhase
		restarted bool
	}{
		{"never-ok", corev1.RestartPolicyNever, []string{"exit", "0"}, corev1.PodSucceeded, false},
		{"never-fail", corev1.RestartPolicyNever, []string{"exit", "1"}, corev1.PodFailed, false},
		{"onfailure-ok", corev1.RestartPolicyOnFailure, []string{"exit", "0"}, corev1.PodSucceeded, false},
		{"onfailure-fail", corev1.RestartPolicyOnFailure, []string{"exit", "1"}, corev1.PodRunning, true},
		{"always-ok", corev1.RestartPolicyAlways, []string{"exit", "0"}, corev1.PodRunning, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pod := testPod(tt.name, "n1", tt.args)
			pod.Spec.RestartPolicy = tt.policy
			if _, err := cs.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			waitPod(t, cs, "default", tt.name, 15*time.Second, string(tt.phase), func(p *corev1.Pod) bool {
				if p.Status.Phase != tt.phase || len(p.Status.ContainerStatuses) == 0 {
					return false
				}
				return !tt.restarted || p.Status.ContainerStatuses[0].RestartCount > 0
			})
			if tt.restarted {
				return
			}
			time.Sleep(time.Second)
			p, _ := cs.CoreV1().Pods("default").Get(context.Background(), tt.name, metav1.GetOptions{})
			c := p.Status.ContainerStatuses[0]
			if c.RestartCount != 0 || c.State.Terminated == nil || p.Status.Phase != tt.phase {
				t.Errorf("after a second: got %s, want %s and no restart", describe(p), tt.phase)
			}
			if p.Status.PodIP == "" {
				t.Errorf("a finished pod keeps its podIP in status; got none")
			}
		})
	}
}

func TestInitContainersRunInOrderBeforeAppContainers(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	memNode(t, srv, "n1", func(o *kubelet.Options) {
		o.Runtime.(*memruntime.Runtime).ListImages(context.Background()) // keep the runtime
	})
	pod := testPod("init", "n1", []string{"sleep"})
	pod.Spec.InitContainers = []corev1.Container{
		{Name: "first", Image: testimage.Ref, Args: []string{"sleep", "300ms"}},
		{Name: "second", Image: testimage.Ref, Args: []string{"sleep", "300ms"}},
	}
	if _, err := cs.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var order []string
	seen := map[string]bool{}
	p := waitPod(t, cs, "default", "init", 15*time.Second, "Running", func(p *corev1.Pod) bool {
		for _, c := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if (c.State.Running != nil || c.State.Terminated != nil) && !seen[c.Name] {
				seen[c.Name] = true
				order = append(order, c.Name)
			}
		}
		if p.Status.Phase == corev1.PodPending {
			for _, c := range p.Status.ContainerStatuses {
				if c.State.Waiting == nil || c.State.Waiting.Reason != "PodInitializing" {
					t.Errorf("app container before init done: got %+v, want waiting PodInitializing", c.State)
				}
			}
		}
		return running(p)
	})
	if strings.Join(order, ",") != "first,second,c0" {
		t.Errorf("start order: got %v, want first, second, c0", order)
	}
	for _, c := range p.Status.InitContainerStatuses {
		if c.State.Terminated == nil || c.State.Terminated.Reason != "Completed" {
			t.Errorf("init container %s: got %+v, want terminated Completed", c.Name, c.State)
		}
	}
}

func TestFailingInitContainerWithRestartNeverFailsThePod(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	memNode(t, srv, "n1")
	pod := testPod("badinit", "n1", []string{"sleep"})
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	pod.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: testimage.Ref, Args: []string{"exit", "7"}}}
	if _, err := cs.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, cs, "default", "badinit", 10*time.Second, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if c := p.Status.ContainerStatuses[0]; c.State.Waiting == nil || c.ContainerID != "" {
		t.Errorf("app container of a pod whose init failed: got %+v, want never started", c)
	}
}

// probeToggle makes exec probes of "/testapp probe" succeed or fail at
// the test's will.
type probeToggle struct{ fail atomic.Bool }

func (p *probeToggle) behave(argv []string) memruntime.Behavior {
	if len(argv) == 2 && argv[1] == "probe" {
		if p.fail.Load() {
			return memruntime.Behavior{Exits: true, ExitCode: 1, Output: "probe failed"}
		}
		return memruntime.Behavior{Exits: true}
	}
	return testappBehavior(argv)
}

func execProbe(period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/testapp", "probe"}}},
		PeriodSeconds: period, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: failures,
	}
}

func TestReadinessProbeTogglesReady(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	toggle := &probeToggle{}
	toggle.fail.Store(true)
	memNode(t, srv, "n1", func(o *kubelet.Options) {
		rt, _ := memruntime.New(memruntime.Options{Behave: toggle.behave, Images: []string{testimage.Ref}})
		o.Runtime = rt
	})
	pod := testPod("ready", "n1", []string{"serve"})
	pod.Spec.Containers[0].ReadinessProbe = execProbe(1, 1)
	if _, err := cs.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, cs, "default", "ready", 10*time.Second, "Running, not Ready", func(p *corev1.Pod) bool { return running(p) && !podReady(p) })
	time.Sleep(1500 * time.Millisecond)
	if p, _ := cs.CoreV1().Pods("default").Get(context.Background(), "ready", metav1.GetOptions{}); podReady(p) {
		t.Fatalf("Ready while the readiness probe fails: %s", describe(p))
	}
	toggle.fail.Store(false)
	waitPod(t, cs, "default", "ready", 10*time.Second, "Ready", podReady)
	toggle.fail.Store(true)
	p := waitPod(t, cs, "default", "ready", 10*time.Second, "not Ready", func(p *corev1.Pod) bool { return !podReady(p) })
	if c := p.Status.ContainerStatuses[0]; c.RestartCount != 0 || c.State.Running == nil {
		t.Errorf("a failing readiness probe must not restart: got %s", describe(p))
	}
}

func TestFailingLivenessProbeRestartsTheContainer(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	toggle := &probeToggle{}
	memNode(t, srv, "n1", func(o *kubelet.Options) {
		rt, _ := memruntime.New(memruntime.Options{Behave: toggle.behave, Images: []string{testimage.Ref}})
		o.Runtime = rt
	})
	pod := testPod("live", "n1", []string{"serve"})
	pod.Spec.Containers[0].LivenessProbe = execProbe(1, 2)
	if _, err := cs.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, cs, "default", "live", 10*time.Second, "Running", running)
	time.Sleep(2500 * time.Millisecond)
	if p, _ := cs.CoreV1().Pods("default").Get(context.Background(), "live", metav1.GetOptions{}); p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("restarted while liveness passes: %s", describe(p))
	}
	toggle.fail.Store(true)
	p := waitPod(t, cs, "default", "live", 15*time.Second, "restarted", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	toggle.fail.Store(false)
	if last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil {
		t.Errorf("lastState after a liveness kill: got none, want terminated")
	}
	waitPod(t, cs, "default", "live", 10*time.Second, "Running again", running)
}

func TestKubeletRestartAdoptsRunningContainers(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	rt, err := memruntime.New(memruntime.Options{Behave: testappBehavior, Images: []string{testimage.Ref}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := func() *runningKubelet {
		opts := fastOptions("n1", srv.ClientSetFor(srv.NodeToken("n1")), dir)
		opts.Runtime = rt
		return runKubelet(t, opts)
	}
	k := start()
	ctx := context.Background()
	for _, name := range []string{"keep", "gone"} {
		if _, err := cs.CoreV1().Pods("default").Create(ctx, testPod(name, "n1", []string{"serve"}, []string{"sleep"}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	before := waitPod(t, cs, "default", "keep", 10*time.Second, "Ready", func(p *corev1.Pod) bool { return running(p) && podReady(p) })
	waitPod(t, cs, "default", "gone", 10*time.Second, "Running", running)
	k.stop()
	// While the kubelet is down, one pod is force-deleted.
	if err := cs.CoreV1().Pods("default").Delete(ctx, "gone", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	rvBefore := before.ResourceVersion
	start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sbs, _ := rt.ListPodSandboxes(ctx, kubelet.SandboxFilter{})
		if len(sbs) == 1 && sbs[0].Config.Name == "keep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sandboxes after restart: got %d, want only keep's", len(sbs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	after, err := cs.CoreV1().Pods("default").Get(ctx, "keep", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range after.Status.ContainerStatuses {
		b := before.Status.ContainerStatuses[i]
		if c.ContainerID != b.ContainerID || c.RestartCount != b.RestartCount || !c.Ready {
			t.Errorf("container %s: got id %s restarts %d ready %v, want id %s restarts %d ready", c.Name, c.ContainerID, c.RestartCount, c.Ready, b.ContainerID, b.RestartCount)
		}
	}
	if after.ResourceVersion != rvBefore {
		t.Errorf("pod written after the restart although nothing changed: %s", describe(after))
	}
	ctrs, _ := rt.ListContainers(ctx, kubelet.ContainerFilter{})
	if len(ctrs) != 2 {
		t.Errorf("containers after restart: got %d, want keep's 2 (no duplicates, the gone pod's removed)", len(ctrs))
	}
}
