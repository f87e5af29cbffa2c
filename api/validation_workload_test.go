package api

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestValidateDeployment(t *testing.T) {
	ru := func(surge, unavailable intstr.IntOrString) appsv1.DeploymentStrategy {
		return appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}
	}
	runValidationCases(t, validDeployment, []validationCase[*appsv1.Deployment]{
		{name: "a defaulted deployment is valid"},
		{name: "a selector that does not match the template's labels", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Labels = map[string]string{"app": "api"}
		}, want: []string{`spec.template.metadata.labels: Invalid value: {"app":"api"}: ` + "`selector` does not match template `labels`"}},
		{name: "a selector is required", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = nil },
			want: []string{"spec.selector: Required value",
				// Kubernetes' "nothing" selector of a nil one matches no labels either.
				`spec.template.metadata.labels: Invalid value: {"app":"web","tier":"front"}: ` + "`selector` does not match template `labels`"}},
		{name: "an empty selector is invalid", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"spec.selector: Invalid value: {}: empty selector is invalid for deployment"}},
		{name: "selector expressions are valid", mutate: func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn}}
		}, want: []string{"spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
			`spec.selector: Invalid value: {"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In"}]}: invalid label selector`}},
		{name: "replicas are not negative", mutate: func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](-1) },
			want: []string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "the template restarts always", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []string{`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`}},
		{name: "the template's containers are checked", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" },
			want: []string{"spec.template.spec.containers[0].image: Required value"}},
		{name: "maxSurge and maxUnavailable are not both zero", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy = ru(intstr.FromInt32(0), intstr.FromString("0%"))
		}, want: []string{`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when ` + "`maxSurge`" + ` is 0`}},
		{name: "maxUnavailable is at most 100%", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy = ru(intstr.FromInt32(1), intstr.FromString("120%"))
		}, want: []string{`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater than 100%`}},
		{name: "maxSurge is an integer or a percentage", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy = ru(intstr.FromString("half"), intstr.FromInt32(1))
		}, want: []string{`spec.strategy.rollingUpdate.maxSurge: Invalid value: "half": a valid percent string must be`}},
		{name: "maxSurge is not negative", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy = ru(intstr.FromInt32(-1), intstr.FromInt32(1))
		}, want: []string{"spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "Recreate takes no rollingUpdate", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType },
			want: []string{"spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"}},
		{name: "the strategy type is Recreate or RollingUpdate", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" },
			want: []string{`spec.strategy: Unsupported value: {"type":"BlueGreen"`}},
		{name: "revisionHistoryLimit is not negative", mutate: func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptr.To[int32](-1) },
			want: []string{"spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "progressDeadlineSeconds exceeds minReadySeconds", mutate: func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 30
			d.Spec.ProgressDeadlineSeconds = ptr.To[int32](30)
		}, want: []string{"spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds"}},
		{name: "minReadySeconds is not negative", mutate: func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = -1 },
			want: []string{"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"}},
	})
}

func TestValidateReplicaSet(t *testing.T) {
	valid := func() *appsv1.ReplicaSet {
		d := validDeployment()
		rs := &appsv1.ReplicaSet{ObjectMeta: d.ObjectMeta, Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}
		Default(rs)
		return rs
	}
	runValidationCases(t, valid, []validationCase[*appsv1.ReplicaSet]{
		{name: "a defaulted replicaset is valid"},
		{name: "its selector matches its template", mutate: func(rs *appsv1.ReplicaSet) {
			rs.Spec.Selector.MatchLabels = map[string]string{"app": "api"}
		}, want: []string{`spec.template.metadata.labels: Invalid value: {"app":"web","tier":"front"}: ` + "`selector` does not match template `labels`"}},
		{name: "replicas are not negative", mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = ptr.To[int32](-2) },
			want: []string{"spec.replicas: Invalid value: -2: must be greater than or equal to 0"}},
	})
}
