package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/internal/testserver"
)

func allControllers() Options {
	return Options{PodGCPeriod: 200 * time.Millisecond}
}

func createAndRoll(t *testing.T, cs kubernetes.Interface, name string, replicas int32) {
	t.Helper()
	if _, err := cs.AppsV1().Deployments("default").Create(context.Background(), deployment(name, replicas, "registry.example/app:1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, cs, name, 30*time.Second)
}

func replicaSetsOf(t *testing.T, cs kubernetes.Interface, app string) int {
	t.Helper()
	l, err := cs.AppsV1().ReplicaSets("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

func deleteDeployment(t *testing.T, cs kubernetes.Interface, name string, policy *metav1.DeletionPropagation) {
	t.Helper()
	if err := cs.AppsV1().Deployments("default").Delete(context.Background(), name, metav1.DeleteOptions{PropagationPolicy: policy}); err != nil {
		t.Fatal(err)
	}
}

func deploymentGone(t *testing.T, cs kubernetes.Interface, name string) func() (bool, error) {
	return func() (bool, error) {
		_, err := cs.AppsV1().Deployments("default").Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}
}

func TestGarbageCollectionFollowsThePropagationPolicy(t *testing.T) {
	c := startCluster(t, allControllers())
	c.startFakeKubelets(t, "node-a", "node-b")

	t.Run("background deletes the owner at once and the dependents after", func(t *testing.T) {
		createAndRoll(t, c.cs, "bg", 2)
		deleteDeployment(t, c.cs, "bg", nil)
		waitFor(t, 15*time.Second, "replicasets and pods gone", func() (bool, error) {
			return replicaSetsOf(t, c.cs, "bg") == 0 && len(podsOf(t, c.cs, "bg")) == 0, nil
		})
	})

	t.Run("foreground keeps the owner until its dependents are gone", func(t *testing.T) {
		createAndRoll(t, c.cs, "fg", 2)
		fg := metav1.DeletePropagationForeground
		deleteDeployment(t, c.cs, "fg", &fg)
		d, err := c.cs.AppsV1().Deployments("default").Get(context.Background(), "fg", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("got %v right after a foreground delete, want the Deployment still there", err)
		}
		if d.DeletionTimestamp == nil {
			t.Fatal("got no deletionTimestamp, want the Deployment being deleted")
		}
		waitFor(t, 15*time.Second, "deployment gone", deploymentGone(t, c.cs, "fg"))
		if n, p := replicaSetsOf(t, c.cs, "fg"), len(podsOf(t, c.cs, "fg")); n != 0 || p != 0 {
			t.Fatalf("got %d replicasets and %d pods when the owner went, want none (foreground)", n, p)
		}
	})

	t.Run("orphan releases the dependents and keeps them", func(t *testing.T) {
		createAndRoll(t, c.cs, "or", 2)
		or := metav1.DeletePropagationOrphan
		deleteDeployment(t, c.cs, "or", &or)
		waitFor(t, 15*time.Second, "deployment gone", deploymentGone(t, c.cs, "or"))
		time.Sleep(500 * time.Millisecond) // give a wrong collector time to act
		rss, err := c.cs.AppsV1().ReplicaSets("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=or"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rss.Items) != 1 || len(rss.Items[0].OwnerReferences) != 0 {
			t.Fatalf("got %d replicasets (%+v), want one without owner", len(rss.Items), rss.Items)
		}
		if n := len(activePods(t, c.cs, "or")); n != 2 {
			t.Fatalf("got %d pods, want the 2 orphaned pods kept", n)
		}
	})
}

func TestDeletingANamespaceDeletesItsContentThenTheNamespace(t *testing.T) {
	c := startCluster(t, allControllers())
	c.startFakeKubelets(t, "node-a")
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	if _, err := c.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := deployment("web", 2, "registry.example/app:1")
	d.Namespace = "shop"
	if _, err := c.cs.AppsV1().Deployments("shop").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "shop"}, Data: map[string]string{"a": "b"}}
	if _, err := c.cs.CoreV1().ConfigMaps("shop").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "two pods in shop", func() (bool, error) {
		l, err := c.cs.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 2, err
	})
	if err := c.cs.CoreV1().Namespaces().Delete(ctx, "shop", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "namespace gone", func() (bool, error) {
		_, err := c.cs.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	for what, n := range map[string]func() (int, error){
		"pods": func() (int, error) {
			l, err := c.cs.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"configmaps": func() (int, error) {
			l, err := c.cs.CoreV1().ConfigMaps("shop").List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
		"deployments": func() (int, error) {
			l, err := c.cs.AppsV1().Deployments("shop").List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		},
	} {
		if got, err := n(); err != nil || got != 0 {
			t.Errorf("%s left in the deleted namespace: %d (%v), want 0", what, got, err)
		}
	}
}

func TestFinishedPodsBeyondTheThresholdAreRemovedOldestFirst(t *testing.T) {
	opts := allControllers()
	opts.Controllers = []string{PodGCController}
	opts.TerminatedPodGCThreshold = 2
	c := startCluster(t, opts)
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("job-%d", i), Namespace: "default"},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "registry.example/job:1"}}}}
		p, err := c.cs.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			p.Status.Phase = corev1.PodSucceeded
			_, err := c.cs.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
			if !apierrors.IsConflict(err) {
				if err != nil {
					t.Fatal(err)
				}
				break
			}
			if p, err = c.cs.CoreV1().Pods("default").Get(ctx, p.Name, metav1.GetOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(1100 * time.Millisecond) // creation times are to the second
	}
	waitFor(t, 10*time.Second, "two pods left", func() (bool, error) {
		l, err := c.cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) != 2 {
			return false, err
		}
		for _, p := range l.Items {
			if p.Name != "job-2" && p.Name != "job-3" {
				return false, fmt.Errorf("got %s kept, want the two newest", p.Name)
			}
		}
		return true, nil
	})
}

// A collector whose graph still shows an owner that the stored object no
// longer names (an owner deleted with the orphan policy released it just
// before going, and the graph has not seen the release yet) leaves the
// object alone; an object whose stored owner is gone is collected.
func TestAGraphBehindTheStoreDoesNotCollectAReleasedObject(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	mgr, err := New(Options{Config: srv.RESTConfig(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gc := &garbageCollector{m: mgr, objects: map[types.UID]*gcObject{}, dependents: map[types.UID]map[types.UID]struct{}{}}
	gc.loop = newLoop(GarbageCollectorController, 1, gc, mgr.log)
	if gc.resources, err = mgr.discoverResources(ctx); err != nil {
		t.Fatal(err)
	}
	configMaps, ok := gc.resources.lookup("v1", "ConfigMap")
	if !ok {
		t.Fatal("discovery has no ConfigMap")
	}
	goneOwner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "gone", UID: "uid-of-a-deleted-deployment"}

	released, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "released"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := released.ObjectMeta.DeepCopy()
	stale.OwnerReferences = []metav1.OwnerReference{goneOwner}
	gc.upsert(configMaps, stale)

	owned, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: "owned", OwnerReferences: []metav1.OwnerReference{goneOwner}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gc.upsert(configMaps, &owned.ObjectMeta)

	for _, uid := range []types.UID{released.UID, owned.UID} {
		if _, err := gc.Reconcile(ctx, string(uid)); err != nil {
			t.Fatalf("reconcile %s: %v", uid, err)
		}
	}
	if _, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "released", metav1.GetOptions{}); err != nil {
		t.Errorf("the released ConfigMap: got %v, want it kept", err)
	}
	if _, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "owned", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ConfigMap whose owner is gone: got %v, want NotFound", err)
	}
}
