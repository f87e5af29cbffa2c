package controllers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/kubelet"
	"github.com/navarch/navarch/kubelet/hollow"
)

func TestMain(m *testing.M) { os.Exit(kubectltest.Main(m)) }

// hollowOptions tune hollow kubelets for tests: heartbeats every 250 ms.
type hollowOptions struct {
	count      int
	prefix     string
	startDelay time.Duration
}

// startHollow runs hollow nodes against the cluster until the test ends
// (or Stop), and waits until their Nodes are Ready.
func (c *cluster) startHollow(t *testing.T, o hollowOptions) *hollow.Nodes {
	t.Helper()
	nodes, err := hollow.Start(context.Background(), hollow.Options{
		Count: o.count, NamePrefix: o.prefix, Client: c.cs, StartDelay: o.startDelay, Logger: testLogger(),
		Kubelet: func(k *kubelet.Options) {
			k.LeaseRenewInterval = 250 * time.Millisecond
			k.NodeStatusUpdateFrequency = 250 * time.Millisecond
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nodes.Stop() })
	for _, name := range nodes.Names() {
		waitFor(t, 30*time.Second, "node "+name+" ready", func() (bool, error) {
			n, err := c.cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
			return err == nil && readyStatus(&n.Status) == corev1.ConditionTrue, nil
		})
	}
	return nodes
}

// missingImageRegistry is a loopback registry that has no image at all:
// hollow nodes fail to pull from it, so pods of its images never start.
func missingImageRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestOnHollowNodesARollingUpdateStaysWithinSurgeAndUnavailability: ten
// replicas at 25%/25% (3 surge, 2 unavailable) roll to a new image; a
// watch of the pods checks both bounds at every event.
func TestOnHollowNodesARollingUpdateStaysWithinSurgeAndUnavailability(t *testing.T) {
	c := startCluster(t, Options{Controllers: []string{ReplicaSetController, DeploymentController}})
	c.startHollow(t, hollowOptions{count: 4, prefix: "roll-", startDelay: 300 * time.Millisecond})
	ctx := context.Background()
	d := rolling(deployment("web", 10, "registry.example/app:1"), intstr.FromString("25%"), intstr.FromString("25%"))
	if _, err := c.cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, c.cs, "web", 60*time.Second)
	rw := watchRollout(t, c.cs, "web", 13, 8)
	rw.arm()
	start := time.Now()
	setImage(t, c.cs, "web", "registry.example/app:2")
	dep := waitComplete(t, c.cs, "web", 60*time.Second)
	events, peak, low := rw.verdict(t)
	t.Logf("rolled 10 pods in %s: %d pod events, at most %d pods, at least %d ready", time.Since(start).Round(time.Millisecond), events, peak, low)
	if peak != 13 {
		t.Errorf("got at most %d pods, want the full surge to 13", peak)
	}
	if got := dep.Annotations[RevisionAnnotation]; got != "2" {
		t.Errorf("got revision %q, want 2", got)
	}
	for _, p := range activePods(t, c.cs, "web") {
		if img := p.Spec.Containers[0].Image; img != "registry.example/app:2" || !isPodReady(&p) {
			t.Errorf("pod %s: image %s ready %v, want app:2 and ready", p.Name, img, isPodReady(&p))
		}
	}
}

// TestOnHollowNodesAStalledRolloutHitsItsDeadlineAndUndoRestoresIt: an
// image that cannot be pulled never becomes ready; the rollout stalls
// with availability never below replicas − maxUnavailable, reports
// ProgressDeadlineExceeded, and the real `kubectl rollout undo` brings the
// previous template back.
func TestOnHollowNodesAStalledRolloutHitsItsDeadlineAndUndoRestoresIt(t *testing.T) {
	c := startCluster(t, Options{Controllers: []string{ReplicaSetController, DeploymentController}})
	c.startHollow(t, hollowOptions{count: 3, prefix: "stall-"})
	kubectl := kubectltest.New(t, kubectltest.WriteKubeconfig(t, c.srv.RESTConfig()))
	ctx := context.Background()
	d := rolling(deployment("web", 10, "registry.example/app:1"), intstr.FromString("25%"), intstr.FromString("25%"))
	d.Spec.ProgressDeadlineSeconds = ptr[int32](3)
	if _, err := c.cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, c.cs, "web", 60*time.Second)
	rw := watchRollout(t, c.cs, "web", 13, 8)
	rw.arm()
	broken := missingImageRegistry(t) + "/app:broken"
	setImage(t, c.cs, "web", broken)
	waitFor(t, 30*time.Second, "Progressing=False ProgressDeadlineExceeded", func() (bool, error) {
		dep, err := c.cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		p := condition(dep, appsv1.DeploymentProgressing)
		return p != nil && p.Status == corev1.ConditionFalse && p.Reason == ReasonProgressDeadlineExceeded, nil
	})
	status := kubectl.Run(t, "rollout", "status", "deployment/web", "--timeout=10s")
	if status.ExitCode == 0 || !strings.Contains(status.Stderr, "exceeded its progress deadline") {
		t.Errorf("kubectl rollout status on a stalled rollout: got exit %d and %q, want a failure naming the progress deadline", status.ExitCode, status.Stderr)
	}
	out := kubectl.MustRun(t, "rollout", "undo", "deployment/web")
	if !strings.Contains(out, "rolled back") {
		t.Errorf("kubectl rollout undo printed %q, want \"rolled back\"", out)
	}
	dep := waitComplete(t, c.cs, "web", 60*time.Second)
	kubectl.MustRun(t, "rollout", "status", "deployment/web", "--timeout=30s")
	events, peak, low := rw.verdict(t)
	t.Logf("%d pod events; at most %d pods, at least %d ready", events, peak, low)
	if low < 8 {
		t.Errorf("got %d ready pods at the lowest, want at least 8", low)
	}
	if img := dep.Spec.Template.Spec.Containers[0].Image; img != "registry.example/app:1" {
		t.Errorf("after undo the template runs %s, want app:1", img)
	}
	if got := dep.Annotations[RevisionAnnotation]; got != "3" {
		t.Errorf("got revision %q after undo, want 3 (revision 1 brought forward)", got)
	}
}

// TestOnHollowNodesASilentNodesPodsAreRecreatedElsewhere: a hollow node
// stops (its Lease is no longer renewed); with a 2 s grace period and 2 s
// default toleration its node turns NotReady and its pods are replaced on
// the other nodes; when it comes back its taints go.
func TestOnHollowNodesASilentNodesPodsAreRecreatedElsewhere(t *testing.T) {
	const grace, toleration = 2 * time.Second, 2
	c := startCluster(t, Options{
		NodeMonitorPeriod: 250 * time.Millisecond, NodeMonitorGracePeriod: grace, DefaultTolerationSeconds: toleration,
		Controllers: []string{ReplicaSetController, DeploymentController, NodeLifecycleController, TaintEvictionController},
	})
	c.startHollow(t, hollowOptions{count: 3, prefix: "stable-"})
	victim := c.startHollow(t, hollowOptions{count: 1, prefix: "victim-"})
	ctx := context.Background()
	if _, err := c.cs.AppsV1().Deployments("default").Create(ctx, deployment("web", 8, "registry.example/app:1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, c.cs, "web", 60*time.Second)
	onVictim := 0
	for _, p := range activePods(t, c.cs, "web") {
		if p.Spec.NodeName == "victim-0" {
			onVictim++
		}
	}
	if onVictim == 0 {
		t.Fatal("no pod on victim-0; the scheduler should spread 8 pods over 4 nodes")
	}
	if err := victim.Stop(); err != nil {
		t.Fatal(err)
	}
	silent := time.Now()
	waitFor(t, 15*time.Second, "victim-0 NotReady (Unknown)", func() (bool, error) {
		n, err := c.cs.CoreV1().Nodes().Get(ctx, "victim-0", metav1.GetOptions{})
		return err == nil && readyStatus(&n.Status) == corev1.ConditionUnknown, err
	})
	t.Logf("victim-0 Ready=Unknown %s after its kubelet stopped", time.Since(silent).Round(10*time.Millisecond))
	waitFor(t, 30*time.Second, "8 ready pods, none on victim-0", func() (bool, error) {
		ready := 0
		for _, p := range activePods(t, c.cs, "web") {
			if p.Spec.NodeName == "victim-0" {
				return false, nil
			}
			if isPodReady(&p) {
				ready++
			}
		}
		return ready == 8, nil
	})
	moved := time.Since(silent)
	t.Logf("%d pods replaced on other nodes %s after the kubelet stopped", onVictim, moved.Round(10*time.Millisecond))
	if limit := grace + toleration*time.Second + 5*time.Second; moved > limit {
		t.Errorf("replacement took %s, want within grace + toleration + 5 s = %s", moved, limit)
	}
	c.startHollow(t, hollowOptions{count: 1, prefix: "victim-"})
	waitFor(t, 15*time.Second, "victim-0 back without taints", func() (bool, error) {
		n, err := c.cs.CoreV1().Nodes().Get(ctx, "victim-0", metav1.GetOptions{})
		return err == nil && readyStatus(&n.Status) == corev1.ConditionTrue && len(n.Spec.Taints) == 0, err
	})
}
