package scheduler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// podInfo is a pod parsed once for scheduling: its requests, host ports,
// owner and inter-pod affinity terms with their selectors compiled.
type podInfo struct {
	pod        *corev1.Pod
	key        string
	req        Resource
	nonZeroCPU int64
	nonZeroMem int64
	ports      []hostPort
	// owner is the UID of the pod's controller (ReplicaSet, StatefulSet…),
	// empty when it has none; used for spreading.
	owner types.UID

	requiredAffinity     []affinityTerm
	requiredAntiAffinity []affinityTerm
	preferredAffinity    []weightedTerm
	preferredAnti        []weightedTerm
}

// affinityTerm is a PodAffinityTerm with its selectors compiled, as in
// kube-scheduler's framework.AffinityTerm.
type affinityTerm struct {
	namespaces  map[string]struct{}
	nsSelector  labels.Selector
	selector    labels.Selector
	topologyKey string
}

type weightedTerm struct {
	affinityTerm
	weight int64
}

// matches reports whether the term selects pod p, given the labels of p's
// namespace (needed only when the term has a namespaceSelector).
func (t *affinityTerm) matches(p *corev1.Pod, nsLabels labels.Set) bool {
	if _, ok := t.namespaces[p.Namespace]; ok || t.nsSelector.Matches(nsLabels) {
		return t.selector.Matches(labels.Set(p.Labels))
	}
	return false
}

// podKey identifies a pod in a Snapshot: its UID, or namespace/name when it
// has none (as in hand-written test fixtures).
func podKey(p *corev1.Pod) string {
	if p.UID != "" {
		return string(p.UID)
	}
	return p.Namespace + "/" + p.Name
}

// newPodInfo parses pod. It fails only on a malformed label selector in an
// affinity term, which API validation normally refuses.
func newPodInfo(pod *corev1.Pod) (*podInfo, error) {
	pi := &podInfo{pod: pod, key: podKey(pod)}
	pi.req, pi.nonZeroCPU, pi.nonZeroMem = podRequests(pod)
	pi.ports = podHostPorts(pod)
	if ref := metav1.GetControllerOf(pod); ref != nil {
		pi.owner = ref.UID
	}
	aff := pod.Spec.Affinity
	if aff == nil {
		return pi, nil
	}
	var err error
	if pa := aff.PodAffinity; pa != nil {
		if pi.requiredAffinity, err = newTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution); err != nil {
			return nil, err
		}
		if pi.preferredAffinity, err = newWeightedTerms(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution); err != nil {
			return nil, err
		}
	}
	if pa := aff.PodAntiAffinity; pa != nil {
		if pi.requiredAntiAffinity, err = newTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution); err != nil {
			return nil, err
		}
		if pi.preferredAnti, err = newWeightedTerms(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution); err != nil {
			return nil, err
		}
	}
	return pi, nil
}

// hasAffinity reports whether the pod has any inter-pod (anti-)affinity.
func (pi *podInfo) hasAffinity() bool {
	return len(pi.requiredAffinity)+len(pi.requiredAntiAffinity)+len(pi.preferredAffinity)+len(pi.preferredAnti) > 0
}

func newTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm) ([]affinityTerm, error) {
	out := make([]affinityTerm, 0, len(terms))
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func newWeightedTerms(pod *corev1.Pod, terms []corev1.WeightedPodAffinityTerm) ([]weightedTerm, error) {
	out := make([]weightedTerm, 0, len(terms))
	for i := range terms {
		t, err := newAffinityTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			return nil, err
		}
		out = append(out, weightedTerm{affinityTerm: t, weight: int64(terms[i].Weight)})
	}
	return out, nil
}

func newAffinityTerm(pod *corev1.Pod, term *corev1.PodAffinityTerm) (affinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return affinityTerm{}, fmt.Errorf("pod %s/%s: affinity term label selector: %w", pod.Namespace, pod.Name, err)
	}
	nsSel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
	if err != nil {
		return affinityTerm{}, fmt.Errorf("pod %s/%s: affinity term namespace selector: %w", pod.Namespace, pod.Name, err)
	}
	ns := make(map[string]struct{}, len(term.Namespaces)+1)
	if len(term.Namespaces) == 0 && term.NamespaceSelector == nil {
		ns[pod.Namespace] = struct{}{}
	}
	for _, n := range term.Namespaces {
		ns[n] = struct{}{}
	}
	return affinityTerm{namespaces: ns, nsSelector: nsSel, selector: sel, topologyKey: term.TopologyKey}, nil
}

// hostPort is one host port a container asks for, normalised: an empty IP
// is 0.0.0.0 and an empty protocol is TCP.
type hostPort struct {
	ip       string
	protocol corev1.Protocol
	port     int32
}

const bindAllHostIP = "0.0.0.0"

func podHostPorts(pod *corev1.Pod) []hostPort {
	var out []hostPort
	add := func(c *corev1.Container) {
		for _, p := range c.Ports {
			if p.HostPort <= 0 {
				continue
			}
			hp := hostPort{ip: p.HostIP, protocol: p.Protocol, port: p.HostPort}
			if hp.ip == "" {
				hp.ip = bindAllHostIP
			}
			if hp.protocol == "" {
				hp.protocol = corev1.ProtocolTCP
			}
			out = append(out, hp)
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(c)
		}
	}
	for i := range pod.Spec.Containers {
		add(&pod.Spec.Containers[i])
	}
	return out
}
