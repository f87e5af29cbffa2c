package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Default requests that count toward scoring (never toward fitting) for a
// container that names no cpu or memory request, as kube-scheduler does, so
// that many request-less pods do not all pile onto one node.
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is an amount of the resources the scheduler accounts for, as
// plain integers so that filters do no Quantity arithmetic.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// AllowedPodNumber is the pod capacity; it is set on allocatable only.
	AllowedPodNumber int64
	// Scalar holds every other resource (extended resources, hugepages).
	Scalar map[corev1.ResourceName]int64
}

// resourceFromList converts a ResourceList into a Resource.
func resourceFromList(rl corev1.ResourceList) Resource {
	var r Resource
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU = q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory = q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage = q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber = q.Value()
		default:
			if r.Scalar == nil {
				r.Scalar = make(map[corev1.ResourceName]int64)
			}
			r.Scalar[name] += q.Value()
		}
	}
	return r
}

// add adds (sign 1) or subtracts (sign -1) o from r.
func (r *Resource) add(o *Resource, sign int64) {
	r.MilliCPU += sign * o.MilliCPU
	r.Memory += sign * o.Memory
	r.EphemeralStorage += sign * o.EphemeralStorage
	for name, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = make(map[corev1.ResourceName]int64)
		}
		r.Scalar[name] += sign * v
		if r.Scalar[name] == 0 {
			delete(r.Scalar, name)
		}
	}
}

// isZero reports whether r requests nothing.
func (r *Resource) isZero() bool {
	return r.MilliCPU == 0 && r.Memory == 0 && r.EphemeralStorage == 0 && len(r.Scalar) == 0
}

var nonZeroDefaults = corev1.ResourceList{
	corev1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
	corev1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.BinarySI),
}

// podRequests returns what the pod requests for fitting and, separately,
// the cpu and memory it counts for scoring. Requests follow Kubernetes'
// rules: the larger of the sum over containers (with restartable init
// containers) and the largest init container, plus the pod overhead; a
// container that asks for 0 cpu asks for 0.
func podRequests(pod *corev1.Pod) (req Resource, nonZeroCPU, nonZeroMem int64) {
	req = resourceFromList(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
	nz := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{
		NonMissingContainerRequests: nonZeroDefaults,
	})
	if q, ok := nz[corev1.ResourceCPU]; ok {
		nonZeroCPU = q.MilliValue()
	}
	if q, ok := nz[corev1.ResourceMemory]; ok {
		nonZeroMem = q.Value()
	}
	return req, nonZeroCPU, nonZeroMem
}
