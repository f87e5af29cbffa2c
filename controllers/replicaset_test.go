package controllers

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

func replicaSet(name string, replicas int32) *appsv1.ReplicaSet {
	d := deployment(name, replicas, "registry.example/app:1")
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
}

func activePods(t *testing.T, cs kubernetes.Interface, app string) []corev1.Pod {
	t.Helper()
	var out []corev1.Pod
	for _, p := range podsOf(t, cs, app) {
		if isPodActive(&p) {
			out = append(out, p)
		}
	}
	return out
}

func waitReplicaSet(t *testing.T, cs kubernetes.Interface, name string, want int32) *appsv1.ReplicaSet {
	t.Helper()
	var rs *appsv1.ReplicaSet
	waitFor(t, 15*time.Second, "replicaset status", func() (bool, error) {
		var err error
		rs, err = cs.AppsV1().ReplicaSets("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := rs.Status
		return st.ObservedGeneration == rs.Generation && st.Replicas == want && st.ReadyReplicas == want &&
			st.AvailableReplicas == want && st.FullyLabeledReplicas == want && len(activePods(t, cs, name)) == int(want), nil
	})
	return rs
}

func TestAReplicaSetKeepsItsPodsOwnedReplacedAndCounted(t *testing.T) {
	c := startCluster(t, Options{Controllers: []string{ReplicaSetController}})
	c.startFakeKubelets(t, "node-a", "node-b")
	ctx := context.Background()
	rsClient := c.cs.AppsV1().ReplicaSets("default")
	rs, err := rsClient.Create(ctx, replicaSet("web", 3), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitReplicaSet(t, c.cs, "web", 3)
	for _, p := range activePods(t, c.cs, "web") {
		ref := metav1.GetControllerOf(&p)
		if ref == nil || ref.UID != rs.UID || ref.Kind != "ReplicaSet" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
			t.Fatalf("pod %s: got controller ref %+v, want the ReplicaSet with blockOwnerDeletion", p.Name, ref)
		}
	}

	t.Run("a deleted pod is replaced", func(t *testing.T) {
		victim := activePods(t, c.cs, "web")[0]
		if err := c.cs.CoreV1().Pods("default").Delete(ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "a replacement", func() (bool, error) {
			ps := activePods(t, c.cs, "web")
			for _, p := range ps {
				if p.Name == victim.Name {
					return false, nil
				}
			}
			return len(ps) == 3, nil
		})
		waitReplicaSet(t, c.cs, "web", 3)
	})

	t.Run("a matching orphan is adopted and the surplus removed", func(t *testing.T) {
		orphan := PodFromTemplate(rs)
		orphan.OwnerReferences = nil
		orphan.GenerateName, orphan.Name = "", "orphan"
		if _, err := c.cs.CoreV1().Pods("default").Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitReplicaSet(t, c.cs, "web", 3)
	})

	t.Run("a pod whose labels stop matching is released and replaced", func(t *testing.T) {
		p := activePods(t, c.cs, "web")[0]
		patch := []byte(`{"metadata":{"labels":{"app":"debug"}}}`)
		if _, err := c.cs.CoreV1().Pods("default").Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "the pod released", func() (bool, error) {
			got, err := c.cs.CoreV1().Pods("default").Get(ctx, p.Name, metav1.GetOptions{})
			return err == nil && metav1.GetControllerOf(got) == nil, err
		})
		waitReplicaSet(t, c.cs, "web", 3)
	})

	t.Run("scaling down removes pods", func(t *testing.T) {
		cur, err := rsClient.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Spec.Replicas = ptr[int32](1)
		if _, err := rsClient.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitReplicaSet(t, c.cs, "web", 1)
	})
}

func TestMinReadySecondsDelaysAvailability(t *testing.T) {
	c := startCluster(t, Options{Controllers: []string{ReplicaSetController}})
	c.startFakeKubelets(t, "node-a")
	rs := replicaSet("slow", 2)
	rs.Spec.MinReadySeconds = 2
	// Condition times are stored to the second, so availability counts
	// from the second the pods turned ready.
	start := time.Now().Truncate(time.Second)
	if _, err := c.cs.AppsV1().ReplicaSets("default").Create(context.Background(), rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "ready but not available", func() (bool, error) {
		got, err := c.cs.AppsV1().ReplicaSets("default").Get(context.Background(), "slow", metav1.GetOptions{})
		return err == nil && got.Status.ReadyReplicas == 2 && got.Status.AvailableReplicas == 0, err
	})
	waitReplicaSet(t, c.cs, "slow", 2)
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("available after %s, want at least minReadySeconds (2s)", d)
	}
}
