package controllers

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// waitComplete waits until the Deployment has rolled out: observed, all
// replicas updated and available, Progressing=True NewReplicaSetAvailable
// (what `kubectl rollout status` waits for).
func waitComplete(t testing.TB, cs kubernetes.Interface, name string, d time.Duration) *appsv1.Deployment {
	t.Helper()
	var dep *appsv1.Deployment
	waitFor(t, d, "deployment "+name+" complete", func() (bool, error) {
		var err error
		dep, err = cs.AppsV1().Deployments("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		want := *dep.Spec.Replicas
		st := dep.Status
		if st.ObservedGeneration < dep.Generation || st.UpdatedReplicas != want || st.Replicas != want || st.AvailableReplicas != want {
			return false, nil
		}
		c := condition(dep, appsv1.DeploymentProgressing)
		return c != nil && c.Reason == ReasonNewReplicaSetAvailable, nil
	})
	return dep
}

func condition(d *appsv1.Deployment, typ appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == typ {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func setImage(t testing.TB, cs kubernetes.Interface, name, image string) {
	t.Helper()
	ctx := context.Background()
	for {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Template.Spec.Containers[0].Image = image
		_, err = cs.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
}

func rolling(d *appsv1.Deployment, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}
	return d
}

func TestARollingUpdateStaysWithinSurgeAndUnavailabilityAtEveryStep(t *testing.T) {
	c := startCluster(t, Options{Controllers: []string{ReplicaSetController, DeploymentController}})
	c.startFakeKubelets(t, "node-a", "node-b", "node-c")
	ctx := context.Background()
	// 25% of 10: maxSurge rounds up to 3, maxUnavailable down to 2.
	d := rolling(deployment("web", 10, "registry.example/app:1"), intstr.FromString("25%"), intstr.FromString("25%"))
	if _, err := c.cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, c.cs, "web", 30*time.Second)
	rw := watchRollout(t, c.cs, "web", 13, 8)
	rw.arm()
	setImage(t, c.cs, "web", "registry.example/app:2")
	dep := waitComplete(t, c.cs, "web", 60*time.Second)
	events, peak, low := rw.verdict(t)
	t.Logf("%d pod events; at most %d pods, at least %d ready", events, peak, low)
	if peak <= 10 {
		t.Errorf("got at most %d pods, want a surge above 10", peak)
	}
	if got := dep.Annotations[RevisionAnnotation]; got != "2" {
		t.Errorf("got revision %q, want 2", got)
	}
	for _, p := range activePods(t, c.cs, "web") {
		if img := p.Spec.Containers[0].Image; img != "registry.example/app:2" {
			t.Errorf("pod %s runs %s, want app:2", p.Name, img)
		}
	}
}

func TestADeploymentWhoseSelectorMissesItsTemplateIsRefused(t *testing.T) {
	c := startCluster(t, Options{Controllers: []string{}})
	d := deployment("bad", 1, "registry.example/app:1")
	d.Spec.Selector.MatchLabels = map[string]string{"app": "other"}
	_, err := c.cs.AppsV1().Deployments("default").Create(context.Background(), d, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("got %v, want 422 Invalid", err)
	}
	if st := err.(apierrors.APIStatus).Status(); st.Code != 422 {
		t.Fatalf("got code %d, want 422", st.Code)
	}
}

func TestRecreateRemovesEveryOldPodBeforeStartingNewOnes(t *testing.T) {
	c := startCluster(t, Options{Controllers: []string{ReplicaSetController, DeploymentController}})
	c.startFakeKubelets(t, "node-a")
	d := deployment("batch", 3, "registry.example/app:1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if _, err := c.cs.AppsV1().Deployments("default").Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, c.cs, "batch", 30*time.Second)
	rw := watchRollout(t, c.cs, "batch", 3, 0)
	setImage(t, c.cs, "batch", "registry.example/app:2")
	waitComplete(t, c.cs, "batch", 30*time.Second)
	if _, peak, _ := rw.verdict(t); peak > 3 {
		t.Fatalf("got %d pods at once, want at most 3 (no surge under Recreate)", peak)
	}
}

func TestAPausedDeploymentDoesNotRollUntilResumed(t *testing.T) {
	c := startCluster(t, Options{Controllers: []string{ReplicaSetController, DeploymentController}})
	c.startFakeKubelets(t, "node-a")
	ctx := context.Background()
	if _, err := c.cs.AppsV1().Deployments("default").Create(ctx, deployment("api", 2, "registry.example/app:1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, c.cs, "api", 30*time.Second)
	patch := func(body string) {
		if _, err := c.cs.AppsV1().Deployments("default").Patch(ctx, "api", "application/merge-patch+json", []byte(body), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patch(`{"spec":{"paused":true}}`)
	setImage(t, c.cs, "api", "registry.example/app:2")
	waitFor(t, 10*time.Second, "Progressing=Unknown DeploymentPaused", func() (bool, error) {
		d, err := c.cs.AppsV1().Deployments("default").Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		p := condition(d, appsv1.DeploymentProgressing)
		return d.Status.ObservedGeneration == d.Generation && p != nil && p.Reason == ReasonDeploymentPaused && p.Status == corev1.ConditionUnknown, nil
	})
	rss, err := c.cs.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{LabelSelector: "app=api"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rss.Items) != 1 {
		t.Fatalf("got %d ReplicaSets while paused, want 1", len(rss.Items))
	}
	patch(`{"spec":{"paused":false}}`)
	dep := waitComplete(t, c.cs, "api", 30*time.Second)
	if dep.Spec.Template.Spec.Containers[0].Image != "registry.example/app:2" || dep.Annotations[RevisionAnnotation] != "2" {
		t.Fatalf("got revision %q, want 2 after resume", dep.Annotations[RevisionAnnotation])
	}
}
