package scheduler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// Filter plugin names, as kube-scheduler names them.
const (
	PluginNodeUnschedulable = "NodeUnschedulable"
	PluginNodeName          = "NodeName"
	PluginTaintToleration   = "TaintToleration"
	PluginNodeAffinity      = "NodeAffinity"
	PluginNodePorts         = "NodePorts"
	PluginNodeResourcesFit  = "NodeResourcesFit"
	PluginInterPodAffinity  = "InterPodAffinity"
)

// Reasons a node is filtered out, worded as kube-scheduler words them so
// that messages read the same to Kubernetes users.
const (
	ReasonUnschedulable            = "node(s) were unschedulable"
	ReasonNodeName                 = "node(s) didn't match the requested node name"
	ReasonNodeAffinity             = "node(s) didn't match Pod's node affinity/selector"
	ReasonNodePorts                = "node(s) didn't have free ports for the requested pod ports"
	ReasonTooManyPods              = "Too many pods"
	ReasonPodAffinity              = "node(s) didn't match pod affinity rules"
	ReasonPodAntiAffinity          = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingPodsAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules"
	reasonInsufficientFormat       = "Insufficient %v"
	reasonUntoleratedTaintFormat   = "node(s) had untolerated taint {%s: %s}"
	taintNodeUnschedulableEffect   = corev1.TaintEffectNoSchedule
)

// status is a filter's verdict on a node that does not fit: the plugin
// that refused it and its reasons. A nil *status means the node passes.
type status struct {
	plugin  string
	reasons []string
}

// cycle is the per-pod state computed once before the nodes are filtered
// (kube-scheduler's PreFilter and CycleState).
type cycle struct {
	snap *Snapshot
	pi   *podInfo
	pod  *corev1.Pod

	nodeAffinity    nodeaffinity.RequiredNodeAffinity
	hasNodeAffinity bool
	// toleratesUnschedulable: the pod tolerates the
	// node.kubernetes.io/unschedulable:NoSchedule taint, hence spec.unschedulable.
	toleratesUnschedulable bool

	ipa interPodState
}

type filterFunc func(c *cycle, ni *NodeInfo) *status

// filters run in kube-scheduler's default plugin order; a node stops at the
// first plugin that refuses it.
var filters = [...]struct {
	name string
	fn   filterFunc
}{
	{PluginNodeUnschedulable, filterUnschedulable},
	{PluginNodeName, filterNodeName},
	{PluginTaintToleration, filterTaints},
	{PluginNodeAffinity, filterNodeAffinity},
	{PluginNodePorts, filterPorts},
	{PluginNodeResourcesFit, filterResources},
	{PluginInterPodAffinity, filterInterPodAffinity},
}

func newCycle(s *Snapshot, pi *podInfo) *cycle {
	pod := pi.pod
	c := &cycle{snap: s, pi: pi, pod: pod}
	aff := pod.Spec.Affinity
	if len(pod.Spec.NodeSelector) > 0 || (aff != nil && aff.NodeAffinity != nil &&
		aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil) {
		c.nodeAffinity = nodeaffinity.GetRequiredNodeAffinity(pod)
		c.hasNodeAffinity = true
	}
	c.toleratesUnschedulable = tolerated(pod.Spec.Tolerations, &corev1.Taint{
		Key: corev1.TaintNodeUnschedulable, Effect: taintNodeUnschedulableEffect,
	})
	c.ipa = newInterPodState(s, pi)
	return c
}

// runFilters returns nil when the node fits, or the first refusal.
func (c *cycle) runFilters(ni *NodeInfo) *status {
	for i := range filters {
		if st := filters[i].fn(c, ni); st != nil {
			st.plugin = filters[i].name
			return st
		}
	}
	return nil
}

func refuse(reasons ...string) *status { return &status{reasons: reasons} }

func filterUnschedulable(c *cycle, ni *NodeInfo) *status {
	if ni.unschedulable && !c.toleratesUnschedulable {
		return refuse(ReasonUnschedulable)
	}
	return nil
}

func filterNodeName(c *cycle, ni *NodeInfo) *status {
	if c.pod.Spec.NodeName != "" && c.pod.Spec.NodeName != ni.node.Name {
		return refuse(ReasonNodeName)
	}
	return nil
}

// filterTaints refuses a node with a NoSchedule or NoExecute taint the pod
// does not tolerate, naming the first such taint. Node readiness reaches the
// scheduler this way too: the node lifecycle controller taints a NotReady or
// unreachable node.
func filterTaints(c *cycle, ni *NodeInfo) *status {
	for i := range ni.taintsNoScheduleOrExecute {
		t := &ni.taintsNoScheduleOrExecute[i]
		if !tolerated(c.pod.Spec.Tolerations, t) {
			return refuse(fmt.Sprintf(reasonUntoleratedTaintFormat, t.Key, t.Value))
		}
	}
	return nil
}

// tolerated reports whether any toleration tolerates the taint, with
// Kubernetes' rules: an empty effect matches every effect, an empty key
// with operator Exists matches every key, Equal compares values.
func tolerated(tolerations []corev1.Toleration, t *corev1.Taint) bool {
	for i := range tolerations {
		tol := &tolerations[i]
		if tol.Effect != "" && tol.Effect != t.Effect {
			continue
		}
		if tol.Key != "" && tol.Key != t.Key {
			continue
		}
		switch tol.Operator {
		case corev1.TolerationOpExists:
			return true
		case "", corev1.TolerationOpEqual:
			if tol.Key == "" {
				continue // Equal needs a key; validation refuses this
			}
			if tol.Value == t.Value {
				return true
			}
		}
	}
	return false
}

func filterNodeAffinity(c *cycle, ni *NodeInfo) *status {
	if !c.hasNodeAffinity {
		return nil
	}
	// Parse errors count as no match, as in kube-scheduler.
	if ok, _ := c.nodeAffinity.Match(ni.node); !ok {
		return refuse(ReasonNodeAffinity)
	}
	return nil
}

func filterPorts(c *cycle, ni *NodeInfo) *status {
	for _, hp := range c.pi.ports {
		if ni.portConflict(hp) {
			return refuse(ReasonNodePorts)
		}
	}
	return nil
}

// filterResources checks the pod count and every requested resource against
// what is left of the node's allocatable, reporting each shortfall.
func filterResources(c *cycle, ni *NodeInfo) *status {
	var reasons []string
	if int64(len(ni.pods))+1 > ni.allocatable.AllowedPodNumber {
		reasons = append(reasons, ReasonTooManyPods)
	}
	req := &c.pi.req
	if req.isZero() {
		if reasons != nil {
			return refuse(reasons...)
		}
		return nil
	}
	alloc, used := &ni.allocatable, &ni.requested
	if req.MilliCPU > 0 && req.MilliCPU > alloc.MilliCPU-used.MilliCPU {
		reasons = append(reasons, fmt.Sprintf(reasonInsufficientFormat, corev1.ResourceCPU))
	}
	if req.Memory > 0 && req.Memory > alloc.Memory-used.Memory {
		reasons = append(reasons, fmt.Sprintf(reasonInsufficientFormat, corev1.ResourceMemory))
	}
	if req.EphemeralStorage > 0 && req.EphemeralStorage > alloc.EphemeralStorage-used.EphemeralStorage {
		reasons = append(reasons, fmt.Sprintf(reasonInsufficientFormat, corev1.ResourceEphemeralStorage))
	}
	for _, name := range sortedScalarNames(req.Scalar) {
		v := req.Scalar[name]
		if v > 0 && v > alloc.Scalar[name]-used.Scalar[name] {
			reasons = append(reasons, fmt.Sprintf(reasonInsufficientFormat, name))
		}
	}
	if reasons != nil {
		return refuse(reasons...)
	}
	return nil
}
