package apiserver_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/navarch/navarch/internal/testserver"
)

// bindPod creates a pod and binds it to node.
func bindPod(t *testing.T, srv *testserver.Server, name, node string) *corev1.Pod {
	t.Helper()
	ctx := ctxT(t)
	pods := srv.ClientSet().CoreV1().Pods("default")
	p, err := pods.Create(ctx, newPod("default", name), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	p, err = pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestABoundPodIsDeletedGracefullyUntilItsKubeletConfirms(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	pods := srv.ClientSet().CoreV1().Pods("default")
	bindPod(t, srv, "web", "node-a")

	if err := pods.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	p, err := pods.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the pod is gone at once; want it kept for its grace period: %v", err)
	}
	if p.DeletionTimestamp == nil || p.DeletionGracePeriodSeconds == nil || *p.DeletionGracePeriodSeconds != 30 {
		t.Fatalf("got deletionTimestamp %v, grace %v; want both, grace 30 (the pod's terminationGracePeriodSeconds)", p.DeletionTimestamp, p.DeletionGracePeriodSeconds)
	}
	if d := p.DeletionTimestamp.Sub(p.CreationTimestamp.Time).Seconds(); d < 25 || d > 40 {
		t.Errorf("deletionTimestamp is %.0fs after creation, want about 30 (now + grace)", d)
	}

	// A shorter grace period shortens it; a longer one does not lengthen it.
	if err := pods.Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](60)}); err != nil {
		t.Fatal(err)
	}
	if p, _ = pods.Get(ctx, "web", metav1.GetOptions{}); *p.DeletionGracePeriodSeconds != 30 {
		t.Errorf("grace after a longer delete: got %d, want 30", *p.DeletionGracePeriodSeconds)
	}
	if err := pods.Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](5)}); err != nil {
		t.Fatal(err)
	}
	if p, _ = pods.Get(ctx, "web", metav1.GetOptions{}); *p.DeletionGracePeriodSeconds != 5 {
		t.Errorf("grace after a shorter delete: got %d, want 5", *p.DeletionGracePeriodSeconds)
	}

	// The kubelet confirms with grace 0 and the pod's uid.
	kubelet := srv.ClientSetFor(srv.NodeToken("node-a")).CoreV1().Pods("default")
	if err := kubelet.Delete(ctx, "web", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &p.UID}}); err != nil {
		t.Fatalf("kubelet delete: %v", err)
	}
	if _, err := pods.Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after the kubelet's delete: got %v, want 404", err)
	}
}

func TestANodeMayDeleteOnlyPodsBoundToIt(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	bindPod(t, srv, "other", "node-b")
	kubelet := srv.ClientSetFor(srv.NodeToken("node-a")).CoreV1().Pods("default")
	err := kubelet.Delete(ctx, "other", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	if !apierrors.IsForbidden(err) {
		t.Errorf("node-a deleting node-b's pod: got %v, want 403", err)
	}
	if _, err := kubelet.UpdateStatus(ctx, bindPod(t, srv, "mine", "node-a"), metav1.UpdateOptions{}); err != nil {
		t.Errorf("node-a updating the status of its own pod: %v", err)
	}
}

func TestDeleteHonoursPreconditionsAndDryRun(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = cms.Delete(ctx, "c", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(types.UID("other"))}})
	if !apierrors.IsConflict(err) {
		t.Errorf("delete with a wrong uid: got %v, want 409", err)
	}
	err = cms.Delete(ctx, "c", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: ptr.To("1")}})
	if !apierrors.IsConflict(err) {
		t.Errorf("delete with a stale resourceVersion: got %v, want 409", err)
	}
	if err := cms.Delete(ctx, "c", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("dry-run delete: %v", err)
	}
	if _, err := cms.Get(ctx, "c", metav1.GetOptions{}); err != nil {
		t.Errorf("after a dry-run delete: %v, want the object kept", err)
	}
	if err := cms.Delete(ctx, "c", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cm.UID}}); err != nil {
		t.Errorf("delete with the right uid: %v", err)
	}
	if err := cms.Delete(ctx, "c", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("second delete: got %v, want 404", err)
	}
}

func TestFinalizersKeepAnObjectUntilTheyAreRemoved(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	<-w.ResultChan() // ADDED

	if err := cms.Delete(ctx, "c", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := cms.Get(ctx, "c", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("an object with finalizers is gone at once: %v", err)
	}
	if cm.DeletionTimestamp == nil || cm.DeletionGracePeriodSeconds == nil || *cm.DeletionGracePeriodSeconds != 0 {
		t.Fatalf("got deletionTimestamp %v grace %v, want a deletionTimestamp with grace 0", cm.DeletionTimestamp, cm.DeletionGracePeriodSeconds)
	}
	cm.Finalizers = nil
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("remove the finalizer: %v", err)
	}
	if _, err := cms.Get(ctx, "c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after the last finalizer went: got %v, want 404", err)
	}
	var types []string
	for ev := range w.ResultChan() {
		types = append(types, string(ev.Type))
		if ev.Type == "DELETED" {
			break
		}
	}
	if !slices.Equal(types, []string{"MODIFIED", "DELETED"}) {
		t.Errorf("watch after ADDED: got %v, want [MODIFIED DELETED]", types)
	}
}

func TestPropagationPoliciesSetTheGarbageCollectorsFinalizers(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	deploys := srv.ClientSet().AppsV1().Deployments("default")
	tests := []struct {
		name      string
		policy    metav1.DeletionPropagation
		finalizer string
	}{
		{"fg", metav1.DeletePropagationForeground, metav1.FinalizerDeleteDependents},
		{"orphan", metav1.DeletePropagationOrphan, metav1.FinalizerOrphanDependents},
		{"bg", metav1.DeletePropagationBackground, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			name := tt.name
			if _, err := deploys.Create(ctx, newDeployment(name, 1), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := deploys.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &tt.policy}); err != nil {
				t.Fatal(err)
			}
			d, err := deploys.Get(ctx, name, metav1.GetOptions{})
			if tt.finalizer == "" {
				if !apierrors.IsNotFound(err) {
					t.Errorf("background delete: got %v, want the deployment gone", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want the deployment kept for the garbage collector", err)
			}
			if !slices.Equal(d.Finalizers, []string{tt.finalizer}) || d.DeletionTimestamp == nil {
				t.Errorf("got finalizers %v, deletionTimestamp %v; want [%s] and a timestamp", d.Finalizers, d.DeletionTimestamp, tt.finalizer)
			}
		})
	}
}

func TestNamespacesTerminateUntilFinalizedAndRefuseNewContent(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	nss := srv.ClientSet().CoreV1().Namespaces()
	if _, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := nss.Delete(ctx, "team", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ns, err := nss.Get(ctx, "team", metav1.GetOptions{})
	if err != nil || ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil {
		t.Fatalf("got %v %v, want the namespace Terminating", err, ns.Status.Phase)
	}
	_, err = srv.ClientSet().CoreV1().ConfigMaps("team").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("create in a terminating namespace: got %v, want 403", err)
	}
	if err := nss.Delete(ctx, "default", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("delete default: got %v, want 403", err)
	}
	ns.Spec.Finalizers = nil
	if _, err := nss.Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if _, err := nss.Get(ctx, "team", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after finalize: got %v, want the namespace gone", err)
	}
}

func TestDeleteCollectionDeletesWhatTheSelectorSelects(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	for _, c := range []struct{ name, app string }{{"a", "x"}, {"b", "x"}, {"c", "y"}} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: c.name, Labels: map[string]string{"app": c.app}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=x"}); err != nil {
		t.Fatal(err)
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "c" {
		t.Errorf("after deleting app=x: got %d items, want c only", len(list.Items))
	}
}
