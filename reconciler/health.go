package reconciler

import (
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DefaultProgressDeadline is how long a workload without its own
// progressDeadlineSeconds may take to become available.
const DefaultProgressDeadline = 10 * time.Minute

// isWorkload reports whether objects of kind have an availability to wait
// for after a sync.
func isWorkload(k ObjectKey) bool {
	return (k.Group == "apps" && (k.Kind == "Deployment" || k.Kind == "ReplicaSet")) || (k.Group == "" && k.Kind == "Pod")
}

// Health is the availability of one workload.
type Health struct {
	Key ObjectKey
	// Ready: available as its spec asks (Deployments: the controller saw
	// the newest generation, and updated, available and total replicas all
	// equal spec.replicas).
	Ready bool
	// Failed: it will not become available without a change (a Deployment
	// past its progress deadline, a failed Pod).
	Failed bool
	// Message describes where it stands ("1/2 available").
	Message string
	// Deadline is how long it may take from the sync: its
	// progressDeadlineSeconds.
	Deadline time.Duration
}

// HealthOf returns the availability of a workload; obj nil means it is
// gone (deleted since the sync), which counts as failed.
func HealthOf(k ObjectKey, obj runtime.Object) Health {
	h := Health{Key: k, Deadline: DefaultProgressDeadline}
	switch o := obj.(type) {
	case nil:
		h.Failed, h.Message = true, "not found"
	case *appsv1.Deployment:
		deploymentHealth(&h, o)
	case *appsv1.ReplicaSet:
		want := int32(1)
		if o.Spec.Replicas != nil {
			want = *o.Spec.Replicas
		}
		h.Ready = o.Status.ObservedGeneration >= o.Generation && o.Status.AvailableReplicas >= want && o.Status.Replicas == want
		h.Message = fmt.Sprintf("%d/%d available", o.Status.AvailableReplicas, want)
	case *corev1.Pod:
		podHealth(&h, o)
	default:
		h.Ready = true
	}
	return h
}

func deploymentHealth(h *Health, d *appsv1.Deployment) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if d.Spec.ProgressDeadlineSeconds != nil {
		h.Deadline = time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second
	}
	s := d.Status
	for _, c := range s.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" && s.ObservedGeneration >= d.Generation {
			h.Failed, h.Message = true, "progress deadline exceeded: "+c.Message
			return
		}
	}
	switch {
	case s.ObservedGeneration < d.Generation:
		h.Message = fmt.Sprintf("generation %d not yet observed", d.Generation)
	case s.UpdatedReplicas < want:
		h.Message = fmt.Sprintf("%d/%d updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		h.Message = fmt.Sprintf("%d old replicas pending termination", s.Replicas-s.UpdatedReplicas)
	case s.AvailableReplicas < want:
		h.Message = fmt.Sprintf("%d/%d available", s.AvailableReplicas, want)
	default:
		h.Ready = true
		h.Message = fmt.Sprintf("%d/%d available", s.AvailableReplicas, want)
	}
}

func podHealth(h *Health, p *corev1.Pod) {
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		h.Ready, h.Message = true, "succeeded"
	case corev1.PodFailed:
		h.Failed, h.Message = true, "failed"
	case corev1.PodRunning:
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				h.Ready, h.Message = true, "ready"
				return
			}
		}
		h.Message = "running, not ready"
	default:
		h.Message = strings.ToLower(string(p.Status.Phase))
	}
}

// HealthSummary is the availability of a revision's workloads.
type HealthSummary struct {
	Total, Ready int
	// Waiting and Failed describe the workloads not ready, sorted.
	Waiting, Failed []string
	// Deadline is the longest progress deadline among the waiting ones.
	Deadline time.Duration
}

// Summarize totals the health of workloads.
func Summarize(hs []Health) HealthSummary {
	var s HealthSummary
	for _, h := range hs {
		s.Total++
		switch {
		case h.Ready:
			s.Ready++
		case h.Failed:
			s.Failed = append(s.Failed, h.Key.String()+": "+h.Message)
		default:
			s.Waiting = append(s.Waiting, h.Key.String()+": "+h.Message)
			if h.Deadline > s.Deadline {
				s.Deadline = h.Deadline
			}
		}
	}
	sort.Strings(s.Waiting)
	sort.Strings(s.Failed)
	return s
}

// String says how many workloads are ready and which are not.
func (s HealthSummary) String() string {
	if s.Total == 0 {
		return "no workloads to wait for"
	}
	msg := fmt.Sprintf("%d/%d workloads ready", s.Ready, s.Total)
	if len(s.Failed) > 0 {
		msg += "; failed: " + strings.Join(s.Failed, ", ")
	}
	if len(s.Waiting) > 0 {
		msg += "; waiting for " + strings.Join(s.Waiting, ", ")
	}
	return msg
}
