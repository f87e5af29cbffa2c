package reconciler

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWorkloadHealthFollowsKubectlRolloutStatus(t *testing.T) {
	two, deadline := int32(2), int32(60)
	deploy := func(gen, observed int64, s appsv1.DeploymentStatus) *appsv1.Deployment {
		s.ObservedGeneration = observed
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: gen},
			Spec: appsv1.DeploymentSpec{Replicas: &two, ProgressDeadlineSeconds: &deadline}, Status: s}
	}
	k := ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	tests := []struct {
		name          string
		obj           *appsv1.Deployment
		ready, failed bool
		message       string
	}{
		{"a new generation not yet seen", deploy(2, 1, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}), false, false, "generation 2 not yet observed"},
		{"a rollout half done", deploy(2, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 1, AvailableReplicas: 2}), false, false, "1/2 updated"},
		{"old replicas still terminating", deploy(2, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2, AvailableReplicas: 2}), false, false, "1 old replicas pending termination"},
		{"updated but not available", deploy(2, 2, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1}), false, false, "1/2 available"},
		{"available", deploy(2, 2, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}), true, false, "2/2 available"},
		{"past its progress deadline", deploy(2, 2, appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: "ReplicaSet web-1 has timed out progressing."}}}),
			false, true, "progress deadline exceeded: ReplicaSet web-1 has timed out progressing."},
	}
	for _, tt := range tests {
		h := HealthOf(k, tt.obj)
		if h.Ready != tt.ready || h.Failed != tt.failed || h.Message != tt.message || h.Deadline != time.Minute {
			t.Errorf("%s: got %+v, want ready=%v failed=%v %q within 1m", tt.name, h, tt.ready, tt.failed, tt.message)
		}
	}
	if h := HealthOf(k, nil); !h.Failed {
		t.Errorf("a deleted workload: got %+v, want failed", h)
	}
	sum := Summarize([]Health{HealthOf(k, tests[4].obj), HealthOf(k, tests[3].obj)})
	if got, want := sum.String(), "1/2 workloads ready; waiting for Deployment shop/web: 1/2 available"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := Summarize(nil).String(); got != "no workloads to wait for" {
		t.Errorf("got %q for no workloads", got)
	}
}
