package apiserver_test

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/navarch/navarch/internal/testserver"
)

func TestStatusIsWrittenOnlyThroughItsSubresource(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	deploys := srv.ClientSet().AppsV1().Deployments("default")
	d, err := deploys.Create(ctx, newDeployment("web", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Status.Replicas = 2
	d.Spec.Replicas = ptrInt32(5)
	got, err := deploys.UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	if got.Status.Replicas != 2 || *got.Spec.Replicas != 2 || got.Generation != 1 {
		t.Errorf("after a status update: status.replicas %d, spec.replicas %d, generation %d; want 2, 2 (spec kept), 1",
			got.Status.Replicas, *got.Spec.Replicas, got.Generation)
	}
	got.Status.Replicas = 7
	got.Spec.Replicas = ptrInt32(3)
	got, err = deploys.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Replicas != 2 || *got.Spec.Replicas != 3 || got.Generation != 2 {
		t.Errorf("after a main update: status.replicas %d, spec.replicas %d, generation %d; want 2 (status kept), 3, 2",
			got.Status.Replicas, *got.Spec.Replicas, got.Generation)
	}
	got, err = deploys.Patch(ctx, "web", types.MergePatchType, []byte(`{"status":{"observedGeneration":2}}`), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatalf("patch status: %v", err)
	}
	if got.Status.ObservedGeneration != 2 {
		t.Errorf("observedGeneration after the status patch: got %d, want 2", got.Status.ObservedGeneration)
	}
}

func TestScaleReadsAndWritesReplicas(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	deploys := srv.ClientSet().AppsV1().Deployments("default")
	if _, err := deploys.Create(ctx, newDeployment("web", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	scale, err := deploys.GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get scale: %v", err)
	}
	if scale.Spec.Replicas != 2 || scale.Status.Selector != "app=web" {
		t.Errorf("scale: got %+v, want 2 replicas and selector app=web", scale)
	}
	scale.Spec.Replicas = 4
	if _, err := deploys.UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update scale: %v", err)
	}
	if _, err := deploys.UpdateScale(ctx, "web", scale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update scale with a stale resourceVersion: got %v, want 409", err)
	}
	if _, err := deploys.Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"replicas":6}}`), metav1.PatchOptions{}, "scale"); err != nil {
		t.Fatalf("patch scale: %v", err)
	}
	got, err := deploys.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Replicas != 6 || got.Generation != 3 {
		t.Errorf("after scaling: replicas %d, generation %d; want 6, 3", *got.Spec.Replicas, got.Generation)
	}
	_, err = deploys.UpdateScale(ctx, "web", &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: autoscalingv1.ScaleSpec{Replicas: -1}}, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("negative replicas: got %v, want 422", err)
	}
}

func TestBindingAssignsAPodOnce(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	pods := srv.ClientSet().CoreV1().Pods("default")
	p := bindPod(t, srv, "web", "node-a")
	if p.Spec.NodeName != "node-a" {
		t.Fatalf("nodeName: got %q, want node-a", p.Spec.NodeName)
	}
	scheduled := false
	for _, c := range p.Status.Conditions {
		scheduled = scheduled || c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue
	}
	if !scheduled {
		t.Errorf("conditions: got %+v, want PodScheduled True", p.Status.Conditions)
	}
	err := pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-b"}}, metav1.CreateOptions{})
	if !apierrors.IsConflict(err) {
		t.Errorf("second binding: got %v, want 409", err)
	}
	err = pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "nope"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-b"}}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("binding a missing pod: got %v, want 404", err)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	dry := []string{metav1.DryRunAll}
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{DryRun: dry})
	if err != nil {
		t.Fatalf("dry-run create: %v", err)
	}
	if cm.Name != "c" || cm.UID == "" || cm.ResourceVersion != "" {
		t.Errorf("dry-run create answered %+v, want the object with a uid and no resourceVersion", cm.ObjectMeta)
	}
	if _, err := cms.Get(ctx, "c", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after a dry-run create: got %v, want 404", err)
	}
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "Bad!"}}, metav1.CreateOptions{DryRun: dry})
	if !apierrors.IsInvalid(err) {
		t.Errorf("dry-run create of an invalid object: got %v, want 422", err)
	}

	cm, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed := cm.DeepCopy()
	changed.Data["a"] = "2"
	if got, err := cms.Update(ctx, changed, metav1.UpdateOptions{DryRun: dry}); err != nil || got.Data["a"] != "2" {
		t.Fatalf("dry-run update: %v %v", err, got)
	}
	if _, err := cms.Patch(ctx, "c", types.MergePatchType, []byte(`{"data":{"a":"3"}}`), metav1.PatchOptions{DryRun: dry}); err != nil {
		t.Fatalf("dry-run patch: %v", err)
	}
	if _, err := cms.Patch(ctx, "c", types.ApplyPatchType, []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"4"}}`),
		metav1.PatchOptions{DryRun: dry, FieldManager: "m", Force: ptrBool(true)}); err != nil {
		t.Fatalf("dry-run apply: %v", err)
	}
	got, err := cms.Get(ctx, "c", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["a"] != "1" || got.ResourceVersion != cm.ResourceVersion {
		t.Errorf("after dry-run writes: a=%q rv %s, want a=1 rv %s", got.Data["a"], got.ResourceVersion, cm.ResourceVersion)
	}
}

func TestGenerateNameGivesAFreshName(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cm.Name) != len("gen-")+5 || cm.Name[:4] != "gen-" || seen[cm.Name] {
			t.Errorf("generated name %q: want gen- and 5 characters, unique", cm.Name)
		}
		seen[cm.Name] = true
	}
}

func ptrInt32(v int32) *int32 { return &v }
func ptrBool(v bool) *bool    { return &v }
