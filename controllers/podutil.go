package controllers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// podReadyCondition returns the pod's Ready condition, or nil.
func podReadyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// isPodReady reports a Ready=True condition.
func isPodReady(p *corev1.Pod) bool {
	c := podReadyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// isPodAvailable reports a pod ready for longer than minReadySeconds at
// now (Kubernetes' podutil.IsPodAvailable).
func isPodAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := podReadyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	d := time.Duration(minReadySeconds) * time.Second
	return !c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(d).Before(now)
}

// isPodTerminal reports a pod that has finished for good.
func isPodTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// isPodActive reports a pod that counts toward its controller's
// replicas: not finished and not being deleted.
func isPodActive(p *corev1.Pod) bool {
	return !isPodTerminal(p) && p.DeletionTimestamp == nil
}
