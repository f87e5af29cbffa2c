package scheduler

import (
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestSampleSizeFollowsKubeScheduler(t *testing.T) {
	for _, tc := range []struct {
		percentage int32
		nodes      int
		want       int
	}{
		{0, 5, 5},
		{0, 99, 99},
		{0, 100, 100},
		{0, 1000, 420}, // 50 - 8 = 42%
		{0, 5000, 500}, // 50 - 40 = 10%
		{0, 6000, 300}, // 50 - 48 = 2% -> 5%
		{0, 200, 100},  // 49% of 200 = 98 -> at least 100
		{100, 1000, 1000},
		{10, 500, 100},
	} {
		if got := numFeasibleNodesToFind(tc.percentage, tc.nodes); got != tc.want {
			t.Errorf("percentage %d, %d nodes: got %d, want %d", tc.percentage, tc.nodes, got, tc.want)
		}
	}
}

func TestScheduleSamplesAndRotatesItsStartingNode(t *testing.T) {
	snap, err := NewSnapshot(syntheticNodes(1000), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for i := 0; i < 3; i++ {
		res, fe := s.Schedule(snap, syntheticPod("rs", i, false))
		if fe != nil {
			t.Fatal(fe)
		}
		if res.Feasible != 420 || res.Evaluated != 420 {
			t.Errorf("decision %d: got %d feasible of %d evaluated, want 420 of 420", i, res.Feasible, res.Evaluated)
		}
		seen[res.NodeName] = true
	}
	if s.nextStart != (3*420)%1000 {
		t.Errorf("got next start %d, want %d", s.nextStart, (3*420)%1000)
	}
	if len(seen) != 3 {
		t.Errorf("got %d distinct nodes for 3 pods on an empty cluster, want 3", len(seen))
	}
}

func TestUnschedulablePodIsCheckedAgainstEveryNode(t *testing.T) {
	snap, err := NewSnapshot(syntheticNodes(300), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := New(Options{})
	p := syntheticPod("rs", 0, false)
	p.Spec.NodeSelector = map[string]string{"gpu": "yes"}
	_, fe := s.Schedule(snap, p)
	if fe == nil {
		t.Fatal("got a node, want a FitError")
	}
	if want := "0/300 nodes are available: 300 node(s) didn't match Pod's node affinity/selector."; fe.Error() != want {
		t.Errorf("got %q, want %q", fe.Error(), want)
	}
}

func TestFitErrorSortsCountReasonStringsLikeKubeScheduler(t *testing.T) {
	fe := &FitError{NumAllNodes: 13, NodeReasons: map[string][]string{}}
	for i := 0; i < 10; i++ {
		fe.NodeReasons[fmt.Sprintf("a%d", i)] = []string{"Insufficient memory"}
	}
	fe.NodeReasons["b"] = []string{"Insufficient cpu", "Too many pods"}
	fe.NodeReasons["c"] = []string{"Insufficient cpu"}
	fe.NodeReasons["d"] = []string{ReasonUnschedulable}
	want := "0/13 nodes are available: 1 Too many pods, 1 node(s) were unschedulable, 10 Insufficient memory, 2 Insufficient cpu."
	if got := fe.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMalformedAffinityIsAFitErrorWrappingTheCause(t *testing.T) {
	snap, _ := NewSnapshot(syntheticNodes(2), nil)
	s, _ := New(Options{})
	p := syntheticPod("rs", 0, true)
	p.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector.MatchLabels["bad key!"] = "x"
	_, fe := s.Schedule(snap, p)
	if fe == nil || fe.Err == nil || errors.Unwrap(fe) == nil {
		t.Fatalf("got %v, want a FitError wrapping the selector error", fe)
	}
}

func TestResponsibleHonoursSchedulerName(t *testing.T) {
	for _, tc := range []struct {
		podScheduler, name string
		want               bool
	}{
		{"", corev1.DefaultSchedulerName, true},
		{corev1.DefaultSchedulerName, corev1.DefaultSchedulerName, true},
		{"gpu-scheduler", corev1.DefaultSchedulerName, false},
		{"gpu-scheduler", "gpu-scheduler", true},
		{"", "gpu-scheduler", false},
	} {
		p := &corev1.Pod{Spec: corev1.PodSpec{SchedulerName: tc.podScheduler}}
		if got := Responsible(p, tc.name); got != tc.want {
			t.Errorf("pod %q, scheduler %q: got %v, want %v", tc.podScheduler, tc.name, got, tc.want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	if _, err := New(Options{PercentageOfNodesToScore: 101}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("percentage 101: got %v, want ErrInvalidOptions", err)
	}
	w := DefaultWeights()
	w.NodeAffinity = -1
	if _, err := New(Options{Weights: &w}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("negative weight: got %v, want ErrInvalidOptions", err)
	}
}

func TestAntiAffinityReplicasLandOnDistinctNodesUntilNoneIsLeft(t *testing.T) {
	snap, _ := NewSnapshot(syntheticNodes(150), nil)
	s, _ := New(Options{Seed: 1})
	var pods []*corev1.Pod
	for i := 0; i < 150; i++ {
		pods = append(pods, syntheticPod("web", i, true))
	}
	scheduleAll(t, s, snap, pods)
	used := make(map[string]bool)
	for _, p := range pods {
		if used[p.Spec.NodeName] {
			t.Fatalf("two replicas on %s", p.Spec.NodeName)
		}
		used[p.Spec.NodeName] = true
	}
	_, fe := s.Schedule(snap, syntheticPod("web", 150, true))
	want := "0/150 nodes are available: 150 node(s) didn't match pod anti-affinity rules."
	if fe == nil || fe.Error() != want {
		t.Errorf("151st replica: got %v, want %q", fe, want)
	}
}

func TestDecisionsAreReproducibleForASeed(t *testing.T) {
	run := func(seed uint64) []string {
		snap, _ := NewSnapshot(syntheticNodes(200), nil)
		s, _ := New(Options{Seed: seed})
		var pods []*corev1.Pod
		for i := 0; i < 300; i++ {
			pods = append(pods, syntheticPod(fmt.Sprintf("rs%d", i%4), i, false))
		}
		scheduleAll(t, s, snap, pods)
		out := make([]string, len(pods))
		for i, p := range pods {
			out[i] = p.Spec.NodeName
		}
		return out
	}
	a, b := run(42), run(42)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("pod %d: got %s then %s with the same seed", i, a[i], b[i])
		}
	}
}
