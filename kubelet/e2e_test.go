package kubelet_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/internal/testimage"
	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/kubelet"
)

// TestRealPodSharesOneIPAndReachesEverythingItShould runs a two-container
// pod on containerd + runc + CNI: it gets an IP from the node's CIDR, one
// container reaches the other on localhost, the host reaches the pod IP,
// its environment and configMap volume hold what the spec asks, kubectl
// logs shows a container's output, and deleting the pod stops it within
// the grace period and frees the IP.
func TestRealPodSharesOneIPAndReachesEverythingItShould(t *testing.T) {
	srv := testserver.Start(t)
	if err := srv.API().EnablePodLogs(); err != nil {
		t.Fatal(err)
	}
	cs := srv.ClientSet()
	ctx := context.Background()
	mustCreate(t)(cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"greeting": "hello", "app.conf": "mode=test\n"},
	}, metav1.CreateOptions{}))
	mustCreate(t)(cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "sec"}, Data: map[string][]byte{"password": []byte("s3cret")},
	}, metav1.CreateOptions{}))
	mustCreate(t)(cs.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "backend-api"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 8080, Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{}))
	n := startRealNode(t, srv, "real1")

	pod := testPod("duo", "real1", []string{"serve", "--port", "8080"}, []string{"sleep"})
	pod.Spec.TerminationGracePeriodSeconds = ptr(int64(3))
	pod.Spec.Containers[0].Env = []corev1.EnvVar{
		{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "greeting"}}},
		{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "password"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "MY_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "MESSAGE", Value: "$(GREETING) from $(POD_NAME)"},
	}
	pod.Spec.Volumes = []corev1.Volume{{Name: "conf", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}
	pod.Spec.Containers[1].VolumeMounts = []corev1.VolumeMount{{Name: "conf", MountPath: "/etc/app"}}
	mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}))
	p := waitPod(t, cs, "default", "duo", time.Minute, "Running and Ready", func(p *corev1.Pod) bool { return running(p) && podReady(p) })

	_, cidr, err := net.ParseCIDR(n.net.PodCIDR)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(p.Status.PodIP); ip == nil || !cidr.Contains(ip) {
		t.Fatalf("pod IP: got %q, want one of the node's CIDR %s", p.Status.PodIP, cidr)
	}
	node, _ := cs.CoreV1().Nodes().Get(ctx, "real1", metav1.GetOptions{})
	if node.Spec.PodCIDR != n.net.PodCIDR {
		t.Errorf("node podCIDR: got %q, want the network's %q", node.Spec.PodCIDR, n.net.PodCIDR)
	}

	t.Run("one container reaches the other on localhost", func(t *testing.T) {
		code, out := n.exec(t, containerStatus(p, "c1").ContainerID, "/testapp", "connect", "127.0.0.1:8080")
		if code != 0 || strings.TrimSpace(out) != "duo" {
			t.Errorf("got exit %d output %q, want 0 and the pod's hostname duo", code, out)
		}
	})
	t.Run("the host reaches the pod IP", func(t *testing.T) {
		if got := httpGet(t, "http://"+net.JoinHostPort(p.Status.PodIP, "8080")+"/hostname"); got != "duo" {
			t.Errorf("got %q, want duo", got)
		}
	})
	t.Run("the environment holds configMap, secret, field and Service values", func(t *testing.T) {
		want := map[string]string{
			"GREETING": "hello", "PASSWORD": "s3cret", "POD_NAME": "duo", "MY_IP": p.Status.PodIP,
			"MESSAGE": "hello from duo", "BACKEND_API_SERVICE_PORT": "8080",
		}
		for name, v := range want {
			if got := httpGet(t, "http://"+net.JoinHostPort(p.Status.PodIP, "8080")+"/env?name="+name); got != v {
				t.Errorf("%s: got %q, want %q", name, got, v)
			}
		}
	})
	t.Run("the configMap volume holds its keys as files", func(t *testing.T) {
		code, out := n.exec(t, containerStatus(p, "c1").ContainerID, "/testapp", "cat", "/etc/app/app.conf")
		if code != 0 || out != "mode=test\n" {
			t.Errorf("got exit %d output %q, want mode=test", code, out)
		}
	})
	t.Run("kubectl logs shows the container's output", func(t *testing.T) {
		k := kubectltest.New(t, srv.WriteKubeconfig())
		res := k.Run(t, "logs", "duo", "-c", "c0")
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, "serving on :8080") {
			t.Errorf("%s\nwant the line serving on :8080", res)
		}
		res = k.Run(t, "logs", "duo", "-c", "nope")
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "container nope is not valid for pod duo") {
			t.Errorf("%s\nwant an error naming the container", res)
		}
	})

	start := time.Now()
	if err := cs.CoreV1().Pods("default").Delete(ctx, "duo", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cs, "default", "duo", 20*time.Second)
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("deletion took %v, want within the 3s grace period (and a little)", took)
	}
	deadline := time.Now().Add(10 * time.Second)
	for n.ipamHolds(p.Status.PodIP) {
		if time.Now().After(deadline) {
			t.Fatalf("IP %s still allocated after the pod was deleted", p.Status.PodIP)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ns, _ := os.ReadDir(filepath.Join(n.net.DataDir, "netns")); len(ns) != 0 {
		t.Errorf("pinned network namespaces after the deletion: got %d, want none", len(ns))
	}
}

// TestRealPodDeletionKillsAfterTheGracePeriod deletes a pod whose process
// ignores SIGTERM: it is killed once the grace period is over.
func TestRealPodDeletionKillsAfterTheGracePeriod(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	startRealNode(t, srv, "real2")
	pod := testPod("stubborn", "real2", []string{"ignore-sigterm"})
	pod.Spec.TerminationGracePeriodSeconds = ptr(int64(2))
	mustCreate(t)(cs.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}))
	waitPod(t, cs, "default", "stubborn", time.Minute, "Running", running)
	start := time.Now()
	if err := cs.CoreV1().Pods("default").Delete(context.Background(), "stubborn", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cs, "default", "stubborn", 20*time.Second)
	if took := time.Since(start); took < 2*time.Second || took > 7*time.Second {
		t.Errorf("deletion took %v, want a little over the 2s grace period", took)
	}
}

// TestRealCrashLivenessAndReadiness runs three pods on one node: one that
// crashes (CrashLoopBackOff with growing delays), one whose liveness probe
// starts failing (restarted), one whose readiness probe toggles (Ready
// follows it).
func TestRealCrashLivenessAndReadiness(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	ctx := context.Background()
	n := startRealNode(t, srv, "real3")
	crash := testPod("crash", "real3", []string{"crash-after", "100ms", "3"})
	probed := testPod("probed", "real3", []string{"serve"})
	probed.Spec.Volumes = []corev1.Volume{{Name: "flags", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	probed.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "flags", MountPath: "/flags"}}
	probed.Spec.Containers[0].ReadinessProbe = execCat("/flags/ready", 1)
	probed.Spec.Containers[0].LivenessProbe = execCat("/flags/alive", 2)
	probed.Spec.Containers[0].LivenessProbe.InitialDelaySeconds = 3
	for _, p := range []*corev1.Pod{crash, probed} {
		mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}))
	}
	// The crashing pod's restarts are recorded from the start, while the
	// probes are tested.
	type restart struct {
		count   int32
		at      time.Time
		backOff string
	}
	restarts := make(chan restart, 100)
	go func() {
		defer close(restarts)
		waitPod(t, cs, "default", "crash", 2*time.Minute, "restartCount 4", func(p *corev1.Pod) bool {
			c := containerStatus(p, "c0")
			r := restart{count: c.RestartCount, at: time.Now()}
			if w := c.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
				r.backOff = w.Message
			}
			restarts <- r
			return c.RestartCount >= 4
		})
	}()
	p := waitPod(t, cs, "default", "probed", time.Minute, "Running", running)
	alive := volumePath(n, p, "flags", "alive")
	ready := volumePath(n, p, "flags", "ready")
	if err := os.WriteFile(alive, []byte("yes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if podReady(p) {
		t.Fatalf("Ready before the readiness probe passed: %s", describe(p))
	}

	t.Run("readiness toggles Ready", func(t *testing.T) {
		os.WriteFile(ready, []byte("yes"), 0o644)
		waitPod(t, cs, "default", "probed", 15*time.Second, "Ready", podReady)
		os.Remove(ready)
		waitPod(t, cs, "default", "probed", 15*time.Second, "not Ready", func(p *corev1.Pod) bool { return !podReady(p) })
		os.WriteFile(ready, []byte("yes"), 0o644)
		waitPod(t, cs, "default", "probed", 15*time.Second, "Ready again", podReady)
	})
	t.Run("a failing liveness probe restarts the container", func(t *testing.T) {
		before := containerStatus(waitPod(t, cs, "default", "probed", time.Second, "seen", running), "c0")
		if before.RestartCount != 0 {
			t.Fatalf("restarted while alive: %+v", before)
		}
		os.Remove(alive)
		p := waitPod(t, cs, "default", "probed", 30*time.Second, "restarted", func(p *corev1.Pod) bool {
			return containerStatus(p, "c0").RestartCount >= 1
		})
		os.WriteFile(alive, []byte("yes"), 0o644)
		c := containerStatus(p, "c0")
		if c.ContainerID == before.ContainerID || c.LastTerminationState.Terminated == nil {
			t.Errorf("after the liveness kill: got %+v, want a new container and a lastState", c)
		}
		waitPod(t, cs, "default", "probed", 30*time.Second, "Running and Ready again", func(p *corev1.Pod) bool { return running(p) && podReady(p) })
	})
	t.Run("a crashing container shows CrashLoopBackOff with growing delays", func(t *testing.T) {
		seen := map[int32]time.Time{}
		backOff := ""
		for r := range restarts {
			if _, ok := seen[r.count]; !ok {
				seen[r.count] = r.at
			}
			if r.backOff != "" {
				backOff = r.backOff
			}
		}
		p := waitPod(t, cs, "default", "crash", time.Second, "seen", func(*corev1.Pod) bool { return true })
		if !strings.Contains(backOff, "back-off") {
			t.Errorf("never saw CrashLoopBackOff: %s", describe(p))
		}
		g2, g3, g4 := seen[2].Sub(seen[1]), seen[3].Sub(seen[2]), seen[4].Sub(seen[3])
		if !(g2 < g3 && g3 < g4) {
			t.Errorf("restart gaps: got %v, %v, %v; want growing", g2, g3, g4)
		}
		if last := containerStatus(p, "c0").LastTerminationState.Terminated; last == nil || last.ExitCode != 3 {
			t.Errorf("lastState: got %+v, want exit code 3", last)
		}
	})
}

func execCat(path string, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/testapp", "cat", path}}},
		PeriodSeconds: 1, TimeoutSeconds: 2, SuccessThreshold: 1, FailureThreshold: failures,
	}
}

// TestRealBadInputIsReportedAndNothingCrashes: an image missing from the
// registry is ErrImagePull then ImagePullBackOff with the registry's
// message; a command missing from the image is RunContainerError with the
// runtime's message; the node keeps running pods afterwards.
func TestRealBadInputIsReportedAndNothingCrashes(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	ctx := context.Background()
	reg := testimage.StartRegistry(t)
	startRealNode(t, srv, "real4")
	missing := testPod("missing", "real4", []string{"sleep"})
	missing.Spec.Containers[0].Image = reg.Host + "/nothere:v1"
	nocmd := testPod("nocmd", "real4", nil)
	nocmd.Spec.Containers[0].Command = []string{"/no-such-binary"}
	for _, p := range []*corev1.Pod{missing, nocmd} {
		mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}))
	}
	var pullMsg string
	waitPod(t, cs, "default", "missing", time.Minute, "ErrImagePull", func(p *corev1.Pod) bool {
		w := containerStatus(p, "c0").State.Waiting
		if w != nil && w.Reason == "ErrImagePull" {
			pullMsg = w.Message
			return true
		}
		return false
	})
	if !strings.Contains(pullMsg, "nothere") || !strings.Contains(strings.ToLower(pullMsg), "not found") {
		t.Errorf("ErrImagePull message: got %q, want the registry's not found for nothere", pullMsg)
	}
	p := waitPod(t, cs, "default", "missing", 30*time.Second, "ImagePullBackOff", func(p *corev1.Pod) bool {
		w := containerStatus(p, "c0").State.Waiting
		return w != nil && w.Reason == "ImagePullBackOff"
	})
	if msg := containerStatus(p, "c0").State.Waiting.Message; !strings.Contains(msg, "Back-off pulling image") || !strings.Contains(msg, "not found") {
		t.Errorf("ImagePullBackOff message: got %q, want the back-off and the registry's message", msg)
	}
	var runMsg string
	waitPod(t, cs, "default", "nocmd", time.Minute, "RunContainerError", func(p *corev1.Pod) bool {
		c := containerStatus(p, "c0")
		if w := c.State.Waiting; w != nil && w.Reason == "RunContainerError" {
			runMsg = w.Message
			return true
		}
		return false
	})
	if !strings.Contains(runMsg, "/no-such-binary") {
		t.Errorf("RunContainerError message: got %q, want it to name /no-such-binary", runMsg)
	}
	p = waitPod(t, cs, "default", "nocmd", time.Minute, "CrashLoopBackOff with StartError", func(p *corev1.Pod) bool {
		c := containerStatus(p, "c0")
		w, last := c.State.Waiting, c.LastTerminationState.Terminated
		return w != nil && w.Reason == "CrashLoopBackOff" && last != nil && last.Reason == "StartError"
	})
	if last := containerStatus(p, "c0").LastTerminationState.Terminated; !strings.Contains(last.Message, "/no-such-binary") || last.ExitCode != 128 {
		t.Errorf("lastState: got %+v, want StartError 128 naming the command", last)
	}
	ok := testPod("fine", "real4", []string{"sleep"})
	mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, ok, metav1.CreateOptions{}))
	waitPod(t, cs, "default", "fine", time.Minute, "Running", running)
}

// TestRealKubeletRestartAdoptsRunningContainers restarts the kubelet: the
// running containers are adopted (same ids, restartCount unchanged), a pod
// deleted meanwhile is removed with its IP.
func TestRealKubeletRestartAdoptsRunningContainers(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	ctx := context.Background()
	n := startRealNode(t, srv, "real5")
	for _, name := range []string{"keep", "drop"} {
		mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, testPod(name, "real5", []string{"serve"}, []string{"sleep"}), metav1.CreateOptions{}))
	}
	before := waitPod(t, cs, "default", "keep", time.Minute, "Running and Ready", func(p *corev1.Pod) bool { return running(p) && podReady(p) })
	drop := waitPod(t, cs, "default", "drop", time.Minute, "Running", running)
	n.kubelet.stop()
	if err := cs.CoreV1().Pods("default").Delete(ctx, "drop", metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	n.startKubelet()
	deadline := time.Now().Add(30 * time.Second)
	for n.ipamHolds(drop.Status.PodIP) {
		if time.Now().After(deadline) {
			t.Fatalf("the deleted pod's IP %s is still allocated", drop.Status.PodIP)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	after, err := cs.CoreV1().Pods("default").Get(ctx, "keep", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range after.Status.ContainerStatuses {
		b := before.Status.ContainerStatuses[i]
		if c.ContainerID != b.ContainerID || c.RestartCount != b.RestartCount || c.State.Running == nil || !c.Ready {
			t.Errorf("container %s: got id %s restarts %d, want %s and %d, running and ready", c.Name, c.ContainerID, c.RestartCount, b.ContainerID, b.RestartCount)
		}
	}
	ctrs, err := n.runtime().ListContainers(ctx, kubelet.ContainerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ctrs) != 2 {
		t.Errorf("containers after the restart: got %d, want keep's 2", len(ctrs))
	}
	if ns, _ := os.ReadDir(filepath.Join(n.net.DataDir, "netns")); len(ns) != 1 {
		t.Errorf("pinned network namespaces after the restart: got %d, want keep's 1", len(ns))
	}
	if got := httpGet(t, "http://"+net.JoinHostPort(after.Status.PodIP, "8080")+"/hostname"); got != "keep" {
		t.Errorf("the adopted pod answers %q, want keep", got)
	}
}

// TestRealContainerdKilledMakesTheNodeNotReadyUntilItIsBack kills the
// test's containerd by its PID: the node reports Ready=False with the
// reason, and the kubelet carries on once containerd is back.
func TestRealContainerdKilledMakesTheNodeNotReadyUntilItIsBack(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	ctx := context.Background()
	n := startRealNode(t, srv, "real6")
	mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, testPod("before", "real6", []string{"serve"}), metav1.CreateOptions{}))
	p := waitPod(t, cs, "default", "before", time.Minute, "Running", running)
	if err := killPID(n.daemon.Pid()); err != nil {
		t.Fatal(err)
	}
	<-n.daemon.Done()
	node := waitNode(t, cs, "real6", 20*time.Second, "Ready=False", func(node *corev1.Node) bool {
		c := nodeCondition(node, corev1.NodeReady)
		return c != nil && c.Status == corev1.ConditionFalse
	})
	if c := nodeCondition(node, corev1.NodeReady); c.Reason != "KubeletNotReady" || !strings.Contains(c.Message, "container runtime is down") {
		t.Errorf("Ready condition: got %s: %s, want KubeletNotReady: container runtime is down…", c.Reason, c.Message)
	}
	if got := httpGet(t, "http://"+net.JoinHostPort(p.Status.PodIP, "8080")+"/hostname"); got != "before" {
		t.Errorf("the pod while containerd is down: got %q, want it still serving", got)
	}
	n.startDaemon()
	waitNode(t, cs, "real6", 30*time.Second, "Ready again", func(node *corev1.Node) bool {
		c := nodeCondition(node, corev1.NodeReady)
		return c != nil && c.Status == corev1.ConditionTrue
	})
	mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, testPod("after", "real6", []string{"sleep"}), metav1.CreateOptions{}))
	waitPod(t, cs, "default", "after", time.Minute, "Running", running)
	if c := containerStatus(waitPod(t, cs, "default", "before", time.Second, "seen", func(*corev1.Pod) bool { return true }), "c0"); c.RestartCount != 0 {
		t.Errorf("the pod that ran through the outage restarted: %+v", c)
	}
}

// killPID kills the test's own containerd child by its PID.
func killPID(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// mustCreate fails the test when the create it is given failed:
// mustCreate(t)(client.Create(…)).
func mustCreate(t *testing.T) func(any, error) {
	return func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRealHTTPTCPAndStartupProbes: an httpGet readiness probe on a named
// port makes the pod Ready; a tcpSocket liveness probe on a served port
// keeps it running; a startup probe that never passes gets the container
// restarted, and holds back its readiness meanwhile.
func TestRealHTTPTCPAndStartupProbes(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	ctx := context.Background()
	startRealNode(t, srv, "probes1")
	good := testPod("good", "probes1", []string{"serve", "--port", "8080"})
	c := &good.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "/healthz", Port: intstr.FromString("http")}}, PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{
		Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}
	never := testPod("never-started", "probes1", []string{"serve", "--port", "8080"})
	nc := &never.Spec.Containers[0]
	nc.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{
		Port: intstr.FromInt32(9999)}}, PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 2}
	nc.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1}
	for _, p := range []*corev1.Pod{good, never} {
		mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}))
	}
	waitPod(t, cs, "default", "good", time.Minute, "Ready", func(p *corev1.Pod) bool { return running(p) && podReady(p) })
	p := waitPod(t, cs, "default", "never-started", 30*time.Second, "restarted by its startup probe", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "c0")
		if podReady(p) || cs.Ready || (cs.Started != nil && *cs.Started) {
			t.Errorf("ready or started before the startup probe passed: %s", describe(p))
		}
		return cs.RestartCount >= 1
	})
	if c := containerStatus(p, "c0"); c.LastTerminationState.Terminated == nil {
		t.Errorf("lastState after the startup kill: got none, want terminated")
	}
	time.Sleep(2 * time.Second)
	g, _ := cs.CoreV1().Pods("default").Get(ctx, "good", metav1.GetOptions{})
	if c := containerStatus(g, "c0"); c.RestartCount != 0 || !c.Ready || c.Started == nil || !*c.Started {
		t.Errorf("the healthy pod: got %s, want ready, started and never restarted", describe(g))
	}
}
