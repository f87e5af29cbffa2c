package e2e

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// source reads a Source in navarch-system.
func (c cli) source(name string) (*gitopsv1alpha1.Source, error) {
	var s gitopsv1alpha1.Source
	if err := c.getJSON(&s, "source", name, "-n", "navarch-system"); err != nil {
		return nil, err
	}
	return &s, nil
}

// describeSource is a Source's status in one line, for failure messages.
func describeSource(s *gitopsv1alpha1.Source) string {
	var parts []string
	for _, c := range s.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s (%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return fmt.Sprintf("applied %s, attempted %s, %s, errors %v", s.Status.LastAppliedRevision,
		s.Status.LastAttemptedRevision, strings.Join(parts, "; "), s.Status.Errors)
}

// sourceReadyAt reports whether the Source is Ready with sha applied.
func sourceReadyAt(s *gitopsv1alpha1.Source, sha string) bool {
	return meta.IsStatusConditionTrue(s.Status.Conditions, gitopsv1alpha1.ConditionReady) &&
		strings.Contains(s.Status.LastAppliedRevision, sha)
}

// pods lists the pods of namespace ns matching the label selector.
func (c cli) pods(ns, selector string) ([]corev1.Pod, error) {
	var list corev1.PodList
	if err := c.getJSON(&list, "pods", "-n", ns, "-l", selector); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// deployment reads a Deployment.
func (c cli) deployment(ns, name string) (*appsv1.Deployment, error) {
	var d appsv1.Deployment
	if err := c.getJSON(&d, "deployment", name, "-n", ns); err != nil {
		return nil, err
	}
	return &d, nil
}

// podReady reports whether the pod is Ready and not being deleted.
func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// imageOf is the image of the pod's first container.
func imageOf(p *corev1.Pod) string {
	if len(p.Spec.Containers) == 0 {
		return ""
	}
	return p.Spec.Containers[0].Image
}

// waitingReason is the reason the pod's first container waits or last
// ended with, "" when it runs.
func waitingReason(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil {
			return cs.State.Waiting.Reason
		}
		if cs.State.Terminated != nil {
			return cs.State.Terminated.Reason
		}
	}
	return ""
}

// describePods is one line per pod: name, node, image, ready, reason.
func describePods(pods []corev1.Pod) string {
	var lines []string
	for i := range pods {
		p := &pods[i]
		lines = append(lines, fmt.Sprintf("%s node=%s image=%s ready=%t phase=%s reason=%s deleting=%t",
			p.Name, p.Spec.NodeName, imageOf(p), podReady(p), p.Status.Phase, waitingReason(p), p.DeletionTimestamp != nil))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n  ")
}
