package scheduler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/internal/testserver"
)

// startShell starts a test API server and a scheduler shell against it.
func startShell(t *testing.T, opts ShellOptions) (kubernetes.Interface, *Shell) {
	t.Helper()
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	opts.Client = cs
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff = 100 * time.Millisecond
	}
	sh, err := NewShell(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("scheduler run: %v", err)
		}
	})
	return cs, sh
}

func createNode(t *testing.T, cs kubernetes.Interface, name, cpu string) {
	t.Helper()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("8Gi"),
				corev1.ResourcePods: resource.MustParse("110"),
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
				LastHeartbeatTime: metav1.Now()}},
		},
	}
	n.Status.Capacity = n.Status.Allocatable
	if _, err := cs.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func createPod(t *testing.T, cs kubernetes.Interface, name, cpu string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.example/app:1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}},
		}}},
	}
	for _, m := range mutate {
		m(p)
	}
	p, err := cs.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitFor polls cond every 20ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getPod(t *testing.T, cs kubernetes.Interface, name string) *corev1.Pod {
	t.Helper()
	p, err := cs.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPendingPodsAreBoundAndSpreadWithAScheduledEvent(t *testing.T) {
	cs, _ := startShell(t, ShellOptions{})
	for i := 0; i < 3; i++ {
		createNode(t, cs, fmt.Sprintf("node-%d", i), "4")
	}
	anti := func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				TopologyKey:   corev1.LabelHostname,
			}},
		}}
	}
	for i := 0; i < 3; i++ {
		createPod(t, cs, fmt.Sprintf("web-%d", i), "100m", anti)
	}
	nodes := map[string]bool{}
	waitFor(t, 10*time.Second, "three pods bound", func() (bool, error) {
		clear(nodes)
		for i := 0; i < 3; i++ {
			p := getPod(t, cs, fmt.Sprintf("web-%d", i))
			if p.Spec.NodeName == "" {
				return false, nil
			}
			nodes[p.Spec.NodeName] = true
		}
		return true, nil
	})
	if len(nodes) != 3 {
		t.Fatalf("got the pods on %d nodes, want 3 (required anti-affinity)", len(nodes))
	}
	waitFor(t, 10*time.Second, "a Scheduled event", func() (bool, error) {
		evs, err := cs.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", "web-0").String(),
		})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == "Scheduled" && e.Source.Component == corev1.DefaultSchedulerName &&
				strings.HasPrefix(e.Message, "Successfully assigned default/web-0 to node-") {
				return true, nil
			}
		}
		return false, nil
	})
}

// TestAPodTooBigForEveryNodeStaysPendingWithAReasonAndNoHotLoop: the pod
// gets PodScheduled=False with kube-scheduler's message and one
// FailedScheduling event; node heartbeats do not make it retry; a node
// that fits makes it schedule.
func TestAPodTooBigForEveryNodeStaysPendingWithAReasonAndNoHotLoop(t *testing.T) {
	cs, sh := startShell(t, ShellOptions{})
	for i := 0; i < 3; i++ {
		createNode(t, cs, fmt.Sprintf("node-%d", i), "2")
	}
	createPod(t, cs, "huge", "64")
	want := "0/3 nodes are available: 3 Insufficient cpu."
	waitFor(t, 10*time.Second, "PodScheduled=False", func() (bool, error) {
		for _, c := range getPod(t, cs, "huge").Status.Conditions {
			// The pod may be seen before the nodes ("no nodes available");
			// their arrival makes it retry.
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message == want {
				if c.Reason != corev1.PodReasonUnschedulable {
					return false, fmt.Errorf("got reason %q, want %q", c.Reason, corev1.PodReasonUnschedulable)
				}
				return true, nil
			}
		}
		return false, nil
	})
	// Heartbeats for 3 s: node status writes that change nothing a pod
	// could fit on.
	start := sh.Stats().Attempts
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		for i := 0; i < 3; i++ {
			n, err := cs.CoreV1().Nodes().Get(context.Background(), fmt.Sprintf("node-%d", i), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n.Status.Conditions[0].LastHeartbeatTime = metav1.Now()
			if _, err := cs.CoreV1().Nodes().UpdateStatus(context.Background(), n, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := sh.Stats().Attempts - start; got > 1 {
		t.Errorf("got %d more scheduling attempts during 3 s of heartbeats, want at most 1", got)
	}
	evs, err := cs.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", "huge").String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var failed int
	for _, e := range evs.Items {
		if e.Reason == "FailedScheduling" && e.Message == want {
			failed++
			if e.Type != corev1.EventTypeWarning {
				t.Errorf("got event type %s, want Warning", e.Type)
			}
		}
	}
	if failed != 1 {
		t.Errorf("got %d FailedScheduling events %q, want 1 (repeats fold into its count)", failed, want)
	}
	createNode(t, cs, "big", "128")
	waitFor(t, 10*time.Second, "the pod bound to the new node", func() (bool, error) {
		return getPod(t, cs, "huge").Spec.NodeName == "big", nil
	})
}

func TestPodsForAnotherSchedulerAreLeftAlone(t *testing.T) {
	cs, _ := startShell(t, ShellOptions{})
	createNode(t, cs, "node-0", "4")
	createPod(t, cs, "theirs", "100m", func(p *corev1.Pod) { p.Spec.SchedulerName = "other-scheduler" })
	createPod(t, cs, "ours", "100m")
	waitFor(t, 10*time.Second, "our pod bound", func() (bool, error) {
		return getPod(t, cs, "ours").Spec.NodeName != "", nil
	})
	time.Sleep(300 * time.Millisecond)
	if n := getPod(t, cs, "theirs").Spec.NodeName; n != "" {
		t.Fatalf("got the other scheduler's pod bound to %q, want it pending", n)
	}
}

func TestAssumedPodsCountBeforeTheirBindingIsSeen(t *testing.T) {
	cs, _ := startShell(t, ShellOptions{})
	createNode(t, cs, "node-0", "1")
	createNode(t, cs, "node-1", "1")
	// Four pods of 500m on two 1-cpu nodes fit only if every decision
	// sees the ones before it, bound or merely assumed.
	for i := 0; i < 4; i++ {
		createPod(t, cs, fmt.Sprintf("p-%d", i), "500m")
	}
	count := map[string]int{}
	waitFor(t, 10*time.Second, "four pods bound", func() (bool, error) {
		clear(count)
		for i := 0; i < 4; i++ {
			n := getPod(t, cs, fmt.Sprintf("p-%d", i)).Spec.NodeName
			if n == "" {
				return false, nil
			}
			count[n]++
		}
		return true, nil
	})
	if count["node-0"] != 2 || count["node-1"] != 2 {
		t.Fatalf("got %v, want two pods per node", count)
	}
}
