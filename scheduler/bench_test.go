package scheduler

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// syntheticNodes returns n nodes of 32 cpu, 128Gi and 110 pods, spread
// over three zones and labelled with their hostname.
func syntheticNodes(n int) []*corev1.Node {
	nodes := make([]*corev1.Node, n)
	for i := range nodes {
		name := fmt.Sprintf("node-%04d", i)
		nodes[i] = &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
				corev1.LabelHostname:      name,
				corev1.LabelTopologyZone:  fmt.Sprintf("zone-%d", i%3),
				"node.kubernetes.io/role": "worker",
			}},
			Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("32"),
				corev1.ResourceMemory: resource.MustParse("128Gi"),
				corev1.ResourcePods:   resource.MustParse("110"),
			}},
		}
	}
	return nodes
}

// syntheticPod is replica i of ReplicaSet rs: 100m cpu, 256Mi memory.
func syntheticPod(rs string, i int, antiAffinity bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%05d", rs, i), Namespace: "bench",
			UID:    types.UID(fmt.Sprintf("%s-uid-%05d", rs, i)),
			Labels: map[string]string{"app": rs},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: types.UID("rs-" + rs), Controller: ptrTo(true),
			}},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("256Mi"),
			}},
		}}},
	}
	if antiAffinity {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": rs}},
				TopologyKey:   corev1.LabelHostname,
			}},
		}}
	}
	return p
}

func ptrTo[T any](v T) *T { return &v }

// scheduleAll places pods one after another, binding each into the
// snapshot before the next decision, and fails on the first that does not fit.
func scheduleAll(tb testing.TB, s *Scheduler, snap *Snapshot, pods []*corev1.Pod) {
	tb.Helper()
	for _, p := range pods {
		res, fe := s.Schedule(snap, p)
		if fe != nil {
			tb.Fatalf("pod %s: %v", p.Name, fe)
		}
		p.Spec.NodeName = res.NodeName
		if err := snap.AddPod(p); err != nil {
			tb.Fatal(err)
		}
	}
}

// benchmarkThroughput schedules a fresh set of pods on a fresh cluster per
// iteration and reports pods/s over the scheduling time only.
func benchmarkThroughput(b *testing.B, nodes, replicaSets, perSet int, anti bool) {
	b.ReportAllocs()
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		snap, err := NewSnapshot(syntheticNodes(nodes), nil)
		if err != nil {
			b.Fatal(err)
		}
		var pods []*corev1.Pod
		for j := 0; j < perSet; j++ { // interleave the sets like a busy queue
			for r := 0; r < replicaSets; r++ {
				pods = append(pods, syntheticPod(fmt.Sprintf("rs%d", r), j, anti))
			}
		}
		s, err := New(Options{Seed: uint64(i)})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		scheduleAll(b, s, snap, pods)
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(b.N*replicaSets*perSet)/elapsed.Seconds(), "pods/s")
}

// BenchmarkSchedule: 10,000 plain pods (10 ReplicaSets of 1,000) onto
// 1,000 nodes, one after another.
func BenchmarkSchedule(b *testing.B) {
	b.Run("1000nodes-10000pods", func(b *testing.B) { benchmarkThroughput(b, 1000, 10, 1000, false) })
	b.Run("1000nodes-1000replicas-antiaffinity", func(b *testing.B) { benchmarkThroughput(b, 1000, 1, 1000, true) })
}
