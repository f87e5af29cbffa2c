package scheduler

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeSummary is what a test compares between two snapshots.
type nodeSummary struct {
	Requested  Resource
	NonZeroCPU int64
	NonZeroMem int64
	Pods       int
	Ports      map[hostPort]int
	Owners     map[string]int32
	AntiAff    int
}

func summarize(s *Snapshot) map[string]nodeSummary {
	out := make(map[string]nodeSummary)
	for _, ni := range s.nodes {
		owners := make(map[string]int32)
		for k, v := range ni.owners {
			owners[string(k)] = v
		}
		ports := make(map[hostPort]int)
		for k, v := range ni.ports {
			ports[k] = v
		}
		req := ni.requested
		if len(req.Scalar) == 0 {
			req.Scalar = nil
		}
		out[ni.node.Name] = nodeSummary{req, ni.nonZeroCPU, ni.nonZeroMem, len(ni.pods), ports, owners, len(ni.podsWithRequiredAntiAff)}
	}
	return out
}

func TestIncrementalUpdatesMatchARebuild(t *testing.T) {
	nodes := syntheticNodes(5)
	var pods []*corev1.Pod
	for i := 0; i < 40; i++ {
		p := syntheticPod(fmt.Sprintf("rs%d", i%3), i, i%4 == 0)
		p.Spec.NodeName = nodes[i%5].Name
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: int32(9000 + i%2)}}
		pods = append(pods, p)
	}
	snap, err := NewSnapshot(nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if err := snap.AddPod(p); err != nil {
			t.Fatal(err)
		}
	}
	// Churn: remove every third pod, move every fifth, fail every seventh.
	var kept []*corev1.Pod
	for i, p := range pods {
		switch {
		case i%3 == 0:
			snap.RemovePod(p)
			continue
		case i%5 == 0:
			q := p.DeepCopy()
			q.Spec.NodeName = nodes[(i+1)%5].Name
			if err := snap.UpdatePod(q); err != nil {
				t.Fatal(err)
			}
			p = q
		case i%7 == 0:
			q := p.DeepCopy()
			q.Status.Phase = corev1.PodFailed
			if err := snap.UpdatePod(q); err != nil {
				t.Fatal(err)
			}
			continue
		}
		kept = append(kept, p)
	}
	rebuilt, err := NewSnapshot(nodes, kept)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summarize(snap), summarize(rebuilt); !reflect.DeepEqual(got, want) {
		t.Errorf("incremental snapshot differs from rebuild:\ngot  %+v\nwant %+v", got, want)
	}
	if snap.NumPods() != len(kept) || snap.antiAffinityPods != rebuilt.antiAffinityPods {
		t.Errorf("got %d pods (%d with anti-affinity), want %d (%d)", snap.NumPods(), snap.antiAffinityPods, len(kept), rebuilt.antiAffinityPods)
	}
}

func TestPodsOnUnknownNodesCountOnceTheNodeArrives(t *testing.T) {
	nodes := syntheticNodes(2)
	p := syntheticPod("rs", 1, false)
	p.Spec.NodeName = "node-0001"
	snap, err := NewSnapshot(nodes[:1], []*corev1.Pod{p})
	if err != nil {
		t.Fatal(err)
	}
	if snap.NodeInfo("node-0001") != nil {
		t.Fatal("got a NodeInfo for a node not added yet")
	}
	snap.UpdateNode(nodes[1])
	ni := snap.NodeInfo("node-0001")
	if ni == nil || ni.NumPods() != 1 || ni.Requested().MilliCPU != 100 {
		t.Fatalf("got %+v, want the node with its pod of 100m cpu", ni)
	}
	snap.RemoveNode("node-0001")
	if snap.NumNodes() != 1 || snap.NodeInfo("node-0001") != nil {
		t.Fatalf("got %d nodes after removal, want 1", snap.NumNodes())
	}
	snap.UpdateNode(nodes[1])
	if got := snap.NodeInfo("node-0001").NumPods(); got != 1 {
		t.Errorf("got %d pods after the node came back, want 1", got)
	}
	snap.RemovePod(p)
	if got := snap.NodeInfo("node-0001").NumPods(); got != 0 {
		t.Errorf("got %d pods after removing the pod, want 0", got)
	}
}

func TestTerminatingPodsDoNotCountForSpreading(t *testing.T) {
	nodes := syntheticNodes(1)
	p := syntheticPod("rs", 1, false)
	p.Spec.NodeName = nodes[0].Name
	snap, err := NewSnapshot(nodes, []*corev1.Pod{p})
	if err != nil {
		t.Fatal(err)
	}
	owner := p.OwnerReferences[0].UID
	if got := snap.NodeInfo(nodes[0].Name).PodsOf(owner); got != 1 {
		t.Fatalf("got %d pods of the owner, want 1", got)
	}
	q := p.DeepCopy()
	q.DeletionTimestamp = &metav1.Time{}
	if err := snap.UpdatePod(q); err != nil {
		t.Fatal(err)
	}
	ni := snap.NodeInfo(nodes[0].Name)
	if ni.PodsOf(owner) != 0 || ni.NumPods() != 1 {
		t.Errorf("got %d owned, %d pods; want 0 owned (terminating) and 1 pod still holding resources", ni.PodsOf(owner), ni.NumPods())
	}
}
