package controllers

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

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/scheduler"
)

// cluster is a test control plane: an API server, the controller manager,
// the scheduler, and (optionally) fake kubelets.
type cluster struct {
	srv *testserver.Server
	cs  kubernetes.Interface
	mgr *Manager
}

func testLogger() *slog.Logger {
	if os.Getenv("NAVARCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startCluster starts the API server, the scheduler and a Manager with
// opts (Config and Logger filled in).
func startCluster(t *testing.T, opts Options) *cluster {
	t.Helper()
	srv := testserver.Start(t)
	c := &cluster{srv: srv, cs: srv.ClientSet()}
	opts.Config = srv.RESTConfig()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	mgr, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.mgr = mgr
	sh, err := scheduler.NewShell(scheduler.ShellOptions{Client: c.cs, InitialBackoff: 100 * time.Millisecond, Logger: opts.Logger})
	if err != nil {
		t.Fatal(err)
	}
	runUntilCleanup(t, "controller manager", mgr.Run)
	runUntilCleanup(t, "scheduler", sh.Run)
	return c
}

// runUntilCleanup runs f until the test ends.
func runUntilCleanup(t testing.TB, what string, f func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", what, err)
		}
	})
}

// fakeKubelets plays the kubelet for every node of the test cluster
// through the API: bound pods turn Running with an IP and Ready (unless
// their image names "never-ready"), and pods being deleted are confirmed
// gone. It is a stand-in for hollow nodes in the controllers' unit tests.
type fakeKubelets struct {
	cs     kubernetes.Interface
	mu     sync.Mutex
	nextIP int
	paused map[string]bool // nodes whose kubelet is "dead"
}

func (c *cluster) startFakeKubelets(t *testing.T, nodes ...string) *fakeKubelets {
	t.Helper()
	k := &fakeKubelets{cs: c.cs, paused: map[string]bool{}}
	for _, n := range nodes {
		createNode(t, c.cs, n)
	}
	f := informers.NewSharedInformerFactory(c.cs, 0)
	inf := f.Core().V1().Pods().Informer()
	handle := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok {
			go k.sync(p)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: handle, UpdateFunc: func(_, cur any) { handle(cur) },
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx.Done())
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.heartbeat(ctx, nodes)
	}()
	t.Cleanup(func() { cancel(); <-done; f.Shutdown() })
	return k
}

// heartbeat renews each live node's Lease every 200ms, and posts
// Ready=True for a node whose status says otherwise, as a kubelet does.
func (k *fakeKubelets) heartbeat(ctx context.Context, nodes []string) {
	leases := k.cs.CoordinationV1().Leases(NodeLeaseNamespace)
	for ctx.Err() == nil {
		for _, n := range nodes {
			k.mu.Lock()
			dead := k.paused[n]
			k.mu.Unlock()
			if dead {
				continue
			}
			now := metav1.NewMicroTime(time.Now())
			l, err := leases.Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: NodeLeaseNamespace},
					Spec: coordinationv1.LeaseSpec{HolderIdentity: &n, LeaseDurationSeconds: ptr[int32](40), RenewTime: &now}}
				_, _ = leases.Create(ctx, l, metav1.CreateOptions{})
			} else {
				l.Spec.RenewTime = &now
				_, _ = leases.Update(ctx, l, metav1.UpdateOptions{})
			}
			if node, err := k.cs.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{}); err == nil && readyStatus(&node.Status) != corev1.ConditionTrue {
				node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
					Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
				_, _ = k.cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// setDead stops (or restarts) a node's kubelet: no heartbeats, no pod
// updates.
func (k *fakeKubelets) setDead(node string, dead bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.paused[node] = dead
}

func (k *fakeKubelets) sync(p *corev1.Pod) {
	ctx := context.Background()
	k.mu.Lock()
	dead := k.paused[p.Spec.NodeName]
	k.mu.Unlock()
	if p.Spec.NodeName == "" || dead {
		return
	}
	if p.DeletionTimestamp != nil {
		zero := int64(0)
		_ = k.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &p.UID}})
		return
	}
	if p.Status.Phase == corev1.PodRunning {
		return
	}
	k.mu.Lock()
	k.nextIP++
	ip := fmt.Sprintf("10.244.%d.%d", k.nextIP/250, k.nextIP%250+1)
	k.mu.Unlock()
	ready := corev1.ConditionTrue
	for _, c := range p.Spec.Containers {
		if strings.Contains(c.Image, "never-ready") {
			ready = corev1.ConditionFalse
		}
	}
	now := metav1.Now()
	p = p.DeepCopy()
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP, p.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	p.Status.StartTime = &now
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: ready, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: ready, LastTransitionTime: now},
	}
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: ready == corev1.ConditionTrue, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	_, _ = k.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
}

func createNode(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("16"), corev1.ResourceMemory: resource.MustParse("64Gi"),
				corev1.ResourcePods: resource.MustParse("110"),
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
				LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(), Reason: "KubeletReady"}},
		},
	}
	n.Status.Capacity = n.Status.Allocatable
	if _, err := cs.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every 25ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last error: %v)", what, d, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func deployment(name string, replicas int32, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: image,
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}},
				}}},
			},
		},
	}
}

// podsOf lists the pods with the label app=name.
func podsOf(t *testing.T, cs kubernetes.Interface, name string) []corev1.Pod {
	t.Helper()
	l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}
