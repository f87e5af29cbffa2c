package controllers

import (
	"errors"
	"math"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestResolveFencepostsRoundsSurgeUpAndUnavailableDown(t *testing.T) {
	pct, num := intstr.FromString, func(i int) intstr.IntOrString { return intstr.FromInt32(int32(i)) }
	for _, tc := range []struct {
		surge, unavailable intstr.IntOrString
		desired            int32
		wantS, wantU       int32
	}{
		{pct("25%"), pct("25%"), 10, 3, 2},
		{pct("30%"), pct("15%"), 10, 3, 1},
		{pct("1%"), pct("1%"), 10, 1, 0},
		{pct("0%"), pct("10%"), 3, 0, 1}, // both resolve to 0 -> unavailable 1
		{num(0), num(0), 5, 0, 1},
		{num(2), num(3), 10, 2, 3},
		{pct("100%"), pct("0%"), 7, 7, 0},
	} {
		s, u, err := ResolveFenceposts(&tc.surge, &tc.unavailable, tc.desired)
		if err != nil {
			t.Fatal(err)
		}
		if s != tc.wantS || u != tc.wantU {
			t.Errorf("surge %s unavailable %s of %d: got %d/%d, want %d/%d",
				tc.surge.String(), tc.unavailable.String(), tc.desired, s, u, tc.wantS, tc.wantU)
		}
	}
	bad := intstr.FromString("many")
	if _, _, err := ResolveFenceposts(&bad, nil, 3); err == nil {
		t.Error("got no error for maxSurge \"many\"")
	}
}

func TestComputeHashIsStableAndChangesWithTemplateAndCollisions(t *testing.T) {
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.25"}}},
	}
	a, b := ComputeHash(&tmpl, nil), ComputeHash(tmpl.DeepCopy(), nil)
	if a != b || a == "" {
		t.Fatalf("got %q and %q for one template, want equal non-empty hashes", a, b)
	}
	other := tmpl.DeepCopy()
	other.Spec.Containers[0].Image = "nginx:1.26"
	one := int32(1)
	if ComputeHash(other, nil) == a || ComputeHash(&tmpl, &one) == a {
		t.Error("got the same hash for another image or another collisionCount")
	}
	for _, r := range a {
		if r == 'a' || r == 'e' || r == 'i' || r == 'o' || r == 'u' || r == '0' || r == '1' || r == '3' {
			t.Errorf("got %q, want rand.SafeEncodeString's alphabet (no vowels, 0, 1, 3)", a)
		}
	}
}

func TestRollbackRecordsTheRevisionHistory(t *testing.T) {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3))}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		RevisionAnnotation: "1", RevisionHistoryAnnotation: "",
	}}}
	if !setNewReplicaSetAnnotations(d, rs, "3", true) {
		t.Fatal("got no change, want the revision raised")
	}
	if rs.Annotations[RevisionAnnotation] != "3" || rs.Annotations[RevisionHistoryAnnotation] != "1" {
		t.Errorf("got revision %q history %q, want 3 and 1", rs.Annotations[RevisionAnnotation], rs.Annotations[RevisionHistoryAnnotation])
	}
	setNewReplicaSetAnnotations(d, rs, "5", true)
	if rs.Annotations[RevisionHistoryAnnotation] != "1,3" {
		t.Errorf("got history %q, want 1,3", rs.Annotations[RevisionHistoryAnnotation])
	}
	if setNewReplicaSetAnnotations(d, rs, "4", true) {
		t.Error("got a change for a lower revision, want none")
	}
}

func TestCleanupCandidatesKeepTheHistoryLimitAndBusyReplicaSets(t *testing.T) {
	mk := func(name, rev string, specReplicas, pods int32) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{RevisionAnnotation: rev}},
			Spec:       appsv1.ReplicaSetSpec{Replicas: ptr(specReplicas)},
			Status:     appsv1.ReplicaSetStatus{Replicas: pods},
		}
	}
	old := []*appsv1.ReplicaSet{mk("r3", "3", 0, 0), mk("r1", "1", 0, 0), mk("r2", "2", 0, 1), mk("r4", "4", 0, 0)}
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{RevisionHistoryLimit: ptr(int32(1))}}
	var names []string
	for _, rs := range CleanupCandidates(d, old) {
		names = append(names, rs.Name)
	}
	// 4 old, limit 1: the 3 lowest revisions go, but r2 still has a pod.
	if len(names) != 2 || names[0] != "r1" || names[1] != "r3" {
		t.Errorf("got %v, want [r1 r3]", names)
	}
	d.Spec.RevisionHistoryLimit = ptr(int32(math.MaxInt32))
	if got := CleanupCandidates(d, old); got != nil {
		t.Errorf("got %d candidates with an unlimited history, want none", len(got))
	}
}

func newDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "d-web", Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ptr(intstr.FromInt32(1)), MaxUnavailable: ptr(intstr.FromInt32(0))}},
			ProgressDeadlineSeconds: ptr(int32(60)),
			RevisionHistoryLimit:    ptr(int32(10)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
			},
		},
	}
}

func TestFirstSyncCreatesTheReplicaSetKubernetesWould(t *testing.T) {
	d := newDeployment()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	plan, err := PlanRollout(RolloutInput{Deployment: d, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Actions) != 1 || plan.Actions[0].Type != ActionCreate {
		t.Fatalf("got %+v, want one Create", plan.Actions)
	}
	rs := plan.Actions[0].ReplicaSet
	hash := ComputeHash(&d.Spec.Template, nil)
	checks := map[string][2]string{
		"name":                      {rs.Name, "web-" + hash},
		"template hash label":       {rs.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey], hash},
		"selector hash label":       {rs.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey], hash},
		"revision":                  {rs.Annotations[RevisionAnnotation], "1"},
		"desired-replicas":          {rs.Annotations[DesiredReplicasAnnotation], "2"},
		"max-replicas":              {rs.Annotations[MaxReplicasAnnotation], "3"},
		"owner":                     {rs.OwnerReferences[0].Kind + "/" + rs.OwnerReferences[0].Name, "Deployment/web"},
		"deployment revision":       {plan.Deployment.Annotations[RevisionAnnotation], "1"},
		"progressing reason":        {getCondition(plan.Deployment.Status, appsv1.DeploymentProgressing).Reason, ReasonNewReplicaSetCreated},
		"deployment template label": {d.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey], ""},
	}
	for what, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: got %q, want %q", what, c[0], c[1])
		}
	}
	if replicas(rs.Spec.Replicas) != 2 || !plan.StatusChanged || !plan.AnnotationsChanged {
		t.Errorf("got replicas %d, status changed %v, annotations changed %v; want 2, true, true",
			replicas(rs.Spec.Replicas), plan.StatusChanged, plan.AnnotationsChanged)
	}
}

func TestAStalledRolloutTimesOutAndAsksToBeRequeued(t *testing.T) {
	d := newDeployment()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	plan, _ := PlanRollout(RolloutInput{Deployment: d, Now: now})
	rs := plan.Actions[0].ReplicaSet
	d = plan.Deployment
	// Nothing changes for 30s: requeue for the rest of the 60s deadline.
	plan, _ = PlanRollout(RolloutInput{Deployment: d, ReplicaSets: []*appsv1.ReplicaSet{rs}, Now: now.Add(30 * time.Second)})
	d = plan.Deployment
	plan, _ = PlanRollout(RolloutInput{Deployment: d, ReplicaSets: []*appsv1.ReplicaSet{rs}, Now: now.Add(31 * time.Second)})
	if want := 30 * time.Second; plan.RequeueAfter != want {
		t.Errorf("got requeue after %s, want %s", plan.RequeueAfter, want)
	}
	plan, _ = PlanRollout(RolloutInput{Deployment: plan.Deployment, ReplicaSets: []*appsv1.ReplicaSet{rs}, Now: now.Add(61 * time.Second)})
	c := getCondition(plan.Deployment.Status, appsv1.DeploymentProgressing)
	if c == nil || c.Reason != ReasonProgressDeadlineExceeded || c.Status != corev1.ConditionFalse {
		t.Fatalf("got %+v, want Progressing=False ProgressDeadlineExceeded", c)
	}
	if want := `ReplicaSet "` + rs.Name + `" has timed out progressing.`; c.Message != want {
		t.Errorf("got message %q, want %q", c.Message, want)
	}
}

func TestPausingMarksProgressUnknownAndCreatesNothing(t *testing.T) {
	d := newDeployment()
	d.Spec.Paused = true
	plan, err := PlanRollout(RolloutInput{Deployment: d, Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Actions) != 0 {
		t.Errorf("got %d actions for a paused Deployment, want none", len(plan.Actions))
	}
	c := getCondition(plan.Deployment.Status, appsv1.DeploymentProgressing)
	if c == nil || c.Reason != ReasonDeploymentPaused || c.Status != corev1.ConditionUnknown {
		t.Errorf("got %+v, want Progressing=Unknown DeploymentPaused", c)
	}
	d = plan.Deployment
	d.Spec.Paused = false
	plan, _ = PlanRollout(RolloutInput{Deployment: d, Now: time.Unix(10, 0)})
	if c := getCondition(plan.Deployment.Status, appsv1.DeploymentProgressing); c == nil || c.Reason != ReasonNewReplicaSetCreated {
		t.Errorf("after resume got %+v, want NewReplicaSetCreated (DeploymentResumed then the new ReplicaSet)", c)
	}
}

func TestBadInputIsReported(t *testing.T) {
	d := newDeployment()
	d.Spec.Strategy.Type = "BlueGreen"
	if _, err := PlanRollout(RolloutInput{Deployment: d}); !errors.Is(err, ErrUnknownStrategy) {
		t.Errorf("got %v, want ErrUnknownStrategy", err)
	}
	d = newDeployment()
	d.Spec.Selector = &metav1.LabelSelector{}
	d.Generation = 4
	plan, err := PlanRollout(RolloutInput{Deployment: d})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Events) != 1 || plan.Events[0].Reason != "SelectingAll" || plan.Deployment.Status.ObservedGeneration != 4 || len(plan.Actions) != 0 {
		t.Errorf("got events %+v, observedGeneration %d, %d actions; want one SelectingAll warning, 4, none",
			plan.Events, plan.Deployment.Status.ObservedGeneration, len(plan.Actions))
	}
}

func TestHashCollisionBumpsCollisionCount(t *testing.T) {
	d := newDeployment()
	squatter := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + ComputeHash(&d.Spec.Template, nil), Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(0)), Template: corev1.PodTemplateSpec{
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "other", Image: "busybox"}}},
		}},
	}
	plan, err := PlanRollout(RolloutInput{Deployment: d, ReplicaSets: []*appsv1.ReplicaSet{squatter}, Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if cc := plan.Deployment.Status.CollisionCount; cc == nil || *cc != 1 {
		t.Fatalf("got collisionCount %v, want 1", cc)
	}
	plan, _ = PlanRollout(RolloutInput{Deployment: plan.Deployment, ReplicaSets: []*appsv1.ReplicaSet{squatter}, Now: time.Unix(1, 0)})
	if len(plan.Actions) == 0 || plan.Actions[0].Type != ActionCreate || plan.Actions[0].ReplicaSet.Name == squatter.Name {
		t.Errorf("got %+v, want a Create under a new name", plan.Actions)
	}
}

func ptr[T any](v T) *T { return &v }
