package controllers

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// DeploymentStatus computes a Deployment's status from its ReplicaSets
// (calculateStatus): replica counts, observedGeneration, and the Available
// condition — True/MinimumReplicasAvailable when at least spec.replicas −
// maxUnavailable pods are available, else False/MinimumReplicasUnavailable
// — stamped with now. Other conditions are carried over.
func DeploymentStatus(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet, now time.Time) appsv1.DeploymentStatus {
	available := sumStatus(all, statusAvailable)
	unavailable := max(sumSpecReplicas(all)-available, 0)
	st := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            sumStatus(all, statusReplicas),
		UpdatedReplicas:     sumStatus([]*appsv1.ReplicaSet{newRS}, statusReplicas),
		ReadyReplicas:       sumStatus(all, statusReady),
		AvailableReplicas:   available,
		UnavailableReplicas: unavailable,
		CollisionCount:      d.Status.CollisionCount,
	}
	st.Conditions = append(st.Conditions, d.Status.Conditions...)
	if available >= replicas(d.Spec.Replicas)-MaxUnavailable(d) {
		SetCondition(&st, NewCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue,
			ReasonMinimumReplicasAvailable, "Deployment has minimum availability.", now))
	} else {
		SetCondition(&st, NewCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse,
			ReasonMinimumReplicasUnavailable, "Deployment does not have minimum availability.", now))
	}
	return st
}

// NewCondition returns a Deployment condition stamped with now.
func NewCondition(t appsv1.DeploymentConditionType, s corev1.ConditionStatus, reason, msg string, now time.Time) appsv1.DeploymentCondition {
	ts := metaTime(now)
	return appsv1.DeploymentCondition{Type: t, Status: s, LastUpdateTime: ts, LastTransitionTime: ts, Reason: reason, Message: msg}
}

// SetCondition sets c on st. A condition of the same type with the same
// status and reason is left alone; with the same status, its
// lastTransitionTime is kept.
func SetCondition(st *appsv1.DeploymentStatus, c appsv1.DeploymentCondition) {
	cur := getCondition(*st, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	st.Conditions = append(removeCondition(st.Conditions, c.Type), c)
}

func getCondition(st appsv1.DeploymentStatus, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			c := st.Conditions[i]
			return &c
		}
	}
	return nil
}

func removeCondition(cs []appsv1.DeploymentCondition, t appsv1.DeploymentConditionType) []appsv1.DeploymentCondition {
	var out []appsv1.DeploymentCondition
	for _, c := range cs {
		if c.Type != t {
			out = append(out, c)
		}
	}
	return out
}

func (p *planner) setCondition(t appsv1.DeploymentConditionType, s corev1.ConditionStatus, reason, msg string) {
	SetCondition(&p.d.Status, NewCondition(t, s, reason, msg, p.now.Time))
}

// checkPausedConditions marks a paused Deployment Progressing=Unknown
// (DeploymentPaused) and a resumed one DeploymentResumed, so that time
// spent paused does not count against the progress deadline. A timed-out
// Deployment keeps its ProgressDeadlineExceeded.
func (p *planner) checkPausedConditions() {
	d := p.d
	if !hasProgressDeadline(d) {
		return
	}
	cond := getCondition(d.Status, appsv1.DeploymentProgressing)
	if cond != nil && cond.Reason == ReasonProgressDeadlineExceeded {
		return
	}
	pausedCond := cond != nil && cond.Reason == ReasonDeploymentPaused
	switch {
	case d.Spec.Paused && !pausedCond:
		p.setCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonDeploymentPaused, "Deployment is paused")
	case !d.Spec.Paused && pausedCond:
		p.setCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ReasonDeploymentResumed, "Deployment is resumed")
	}
}

// syncDeploymentStatus writes the counts without judging progress (used
// while paused or scaling).
func (p *planner) syncDeploymentStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) {
	p.d.Status = DeploymentStatus(p.d, all, newRS, p.now.Time)
}

// syncRolloutStatus is the status update of a rollout step: counts, and
// the Progressing condition — NewReplicaSetAvailable once complete,
// ReplicaSetUpdated while progressing, ProgressDeadlineExceeded when no
// progress was seen for progressDeadlineSeconds — plus ReplicaFailure
// promoted from the ReplicaSets.
func (p *planner) syncRolloutStatus(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) {
	d := p.d
	st := DeploymentStatus(d, all, newRS, p.now.Time)
	if !hasProgressDeadline(d) {
		st.Conditions = removeCondition(st.Conditions, appsv1.DeploymentProgressing)
	}
	cur := getCondition(d.Status, appsv1.DeploymentProgressing)
	complete := st.Replicas == st.UpdatedReplicas && cur != nil && cur.Reason == ReasonNewReplicaSetAvailable
	if hasProgressDeadline(d) && !complete {
		p.judgeProgress(&st, cur, newRS)
	}
	if f := replicaFailures(all, newRS); len(f) > 0 {
		SetCondition(&st, f[0])
	} else {
		st.Conditions = removeCondition(st.Conditions, appsv1.DeploymentReplicaFailure)
	}
	if apiequality.Semantic.DeepEqual(d.Status, st) {
		p.plan.RequeueAfter = p.requeueStuck(st)
	}
	d.Status = st
}

func (p *planner) judgeProgress(st *appsv1.DeploymentStatus, cur *appsv1.DeploymentCondition, newRS *appsv1.ReplicaSet) {
	d := p.d
	name := func(rsFmt, dFmt string) string {
		if newRS != nil {
			return fmt.Sprintf(rsFmt, newRS.Name)
		}
		return fmt.Sprintf(dFmt, d.Name)
	}
	switch {
	case deploymentComplete(d, st):
		SetCondition(st, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetAvailable,
			name("ReplicaSet %q has successfully progressed.", "Deployment %q has successfully progressed."), p.now.Time))
	case deploymentProgressing(d, st):
		c := NewCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonReplicaSetUpdated,
			name("ReplicaSet %q is progressing.", "Deployment %q is progressing."), p.now.Time)
		// Progress refreshes lastUpdateTime even with an unchanged reason.
		if cur != nil {
			if cur.Status == corev1.ConditionTrue {
				c.LastTransitionTime = cur.LastTransitionTime
			}
			st.Conditions = removeCondition(st.Conditions, appsv1.DeploymentProgressing)
		}
		SetCondition(st, c)
	case deploymentTimedOut(d, st, p.now.Time):
		SetCondition(st, NewCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, ReasonProgressDeadlineExceeded,
			name("ReplicaSet %q has timed out progressing.", "Deployment %q has timed out progressing."), p.now.Time))
	}
}

func replicaFailures(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) []appsv1.DeploymentCondition {
	conv := func(rs *appsv1.ReplicaSet) []appsv1.DeploymentCondition {
		var out []appsv1.DeploymentCondition
		if rs == nil {
			return nil
		}
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure {
				out = append(out, appsv1.DeploymentCondition{
					Type: appsv1.DeploymentConditionType(c.Type), Status: c.Status, LastTransitionTime: c.LastTransitionTime,
					LastUpdateTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
				})
			}
		}
		return out
	}
	if out := conv(newRS); len(out) > 0 {
		return out
	}
	var out []appsv1.DeploymentCondition
	for _, rs := range all {
		out = append(out, conv(rs)...)
	}
	return out
}

// deploymentComplete: every desired replica updated and available, no old
// pods, and the latest generation observed.
func deploymentComplete(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	want := replicas(d.Spec.Replicas)
	return st.UpdatedReplicas == want && st.Replicas == want && st.AvailableReplicas == want &&
		st.ObservedGeneration >= d.Generation
}

// deploymentProgressing: compared with the last status, more pods are
// updated, ready or available, or fewer old pods remain.
func deploymentProgressing(d *appsv1.Deployment, st *appsv1.DeploymentStatus) bool {
	old := d.Status
	return st.UpdatedReplicas > old.UpdatedReplicas ||
		st.Replicas-st.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		st.ReadyReplicas > old.ReadyReplicas ||
		st.AvailableReplicas > old.AvailableReplicas
}

// deploymentTimedOut: the Progressing condition was last updated more than
// progressDeadlineSeconds before now (or already says so).
func deploymentTimedOut(d *appsv1.Deployment, st *appsv1.DeploymentStatus, now time.Time) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	c := getCondition(*st, appsv1.DeploymentProgressing)
	if c == nil || c.Reason == ReasonNewReplicaSetAvailable {
		return false
	}
	if c.Reason == ReasonProgressDeadlineExceeded {
		return true
	}
	deadline := time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second
	return c.LastUpdateTime.Add(deadline).Before(now)
}

// requeueStuck is requeueStuckDeployment: when a rollout shows no
// progress, when to look again for the deadline (0: no need).
func (p *planner) requeueStuck(st appsv1.DeploymentStatus) time.Duration {
	d := p.d
	cur := getCondition(d.Status, appsv1.DeploymentProgressing)
	if !hasProgressDeadline(d) || cur == nil {
		return 0
	}
	if deploymentComplete(d, &st) || cur.Reason == ReasonProgressDeadlineExceeded {
		return 0
	}
	after := cur.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(p.now.Time)
	if after < time.Second {
		return time.Second // Kubernetes requeues rate-limited "now"
	}
	return after + time.Second
}
