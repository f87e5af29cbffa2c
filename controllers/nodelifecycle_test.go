package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestASilentNodeIsMarkedUnknownItsPodsMoveAndItsTaintsGoWhenItReturns:
// grace 2 s, default toleration 2 s: within grace + toleration (plus the
// scheduling and start of replacements) the pods run elsewhere.
func TestASilentNodeIsMarkedUnknownItsPodsMoveAndItsTaintsGoWhenItReturns(t *testing.T) {
	c := startCluster(t, Options{
		NodeMonitorPeriod: 250 * time.Millisecond, NodeMonitorGracePeriod: 2 * time.Second, DefaultTolerationSeconds: 2,
		Controllers: []string{ReplicaSetController, DeploymentController, NodeLifecycleController, TaintEvictionController},
	})
	k := c.startFakeKubelets(t, "node-a", "node-b", "node-c")
	ctx := context.Background()
	if _, err := c.cs.AppsV1().Deployments("default").Create(ctx, deployment("web", 6, "registry.example/app:1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, c.cs, "web", 30*time.Second)
	var victims []string
	for _, p := range activePods(t, c.cs, "web") {
		if p.Spec.NodeName == "node-a" {
			victims = append(victims, p.Name)
		}
	}
	if len(victims) == 0 {
		t.Fatal("no pod on node-a; the scheduler should spread six pods over three nodes")
	}
	k.setDead("node-a", true)
	silent := time.Now()
	waitFor(t, 10*time.Second, "node-a Ready=Unknown and tainted unreachable", func() (bool, error) {
		n, err := c.cs.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return readyStatus(&n.Status) == corev1.ConditionUnknown && slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool {
			return t.Key == corev1.TaintNodeUnreachable && t.Effect == corev1.TaintEffectNoExecute
		}), nil
	})
	t.Logf("node-a unknown after %s", time.Since(silent).Round(10*time.Millisecond))
	waitFor(t, 20*time.Second, "six running pods, none on node-a", func() (bool, error) {
		ready := 0
		for _, p := range activePods(t, c.cs, "web") {
			if p.Spec.NodeName == "node-a" {
				return false, nil
			}
			if isPodReady(&p) {
				ready++
			}
		}
		return ready == 6, nil
	})
	moved := time.Since(silent)
	t.Logf("pods replaced on other nodes %s after the node went silent", moved.Round(10*time.Millisecond))
	if limit := 2*time.Second + 2*time.Second + 5*time.Second; moved > limit {
		t.Errorf("replacement took %s, want within grace + toleration + 5 s = %s", moved, limit)
	}
	k.setDead("node-a", false)
	waitFor(t, 10*time.Second, "node-a untainted", func() (bool, error) {
		n, err := c.cs.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if readyStatus(&n.Status) == corev1.ConditionTrue && len(n.Spec.Taints) == 0 {
			return true, nil
		}
		return false, fmt.Errorf("ready %s, taints %v", readyStatus(&n.Status), n.Spec.Taints)
	})
}

func TestAPodToleratingUnreachableForeverStays(t *testing.T) {
	c := startCluster(t, Options{
		NodeMonitorPeriod: 250 * time.Millisecond, NodeMonitorGracePeriod: time.Second, DefaultTolerationSeconds: 1,
		Controllers: []string{NodeLifecycleController, TaintEvictionController},
	})
	k := c.startFakeKubelets(t, "node-a")
	ctx := context.Background()
	mk := func(name string, tol []corev1.Toleration) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.PodSpec{
			NodeName: "node-a", Tolerations: tol, Containers: []corev1.Container{{Name: "c", Image: "registry.example/app:1"}}}}
		if _, err := c.cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("stays", []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}})
	mk("goes", nil)
	k.setDead("node-a", true)
	waitFor(t, 15*time.Second, "the pod without its own toleration evicted", func() (bool, error) {
		p, err := c.cs.CoreV1().Pods("default").Get(ctx, "goes", metav1.GetOptions{})
		return err == nil && p.DeletionTimestamp != nil, nil
	})
	p, err := c.cs.CoreV1().Pods("default").Get(ctx, "stays", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp != nil {
		t.Fatalf("got %v (deletion %v), want the tolerating pod to stay", err, p.GetDeletionTimestamp())
	}
}
