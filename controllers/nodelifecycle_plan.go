package controllers

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// Reasons and messages the node lifecycle controller writes, as
// Kubernetes' does.
const (
	ReasonNodeStatusUnknown      = "NodeStatusUnknown"
	ReasonNodeStatusNeverUpdated = "NodeStatusNeverUpdated"
	MessageNodeStatusUnknown     = "Kubelet stopped posting node status."
	MessageNodeNeverUpdated      = "Kubelet never posted node status."
)

// lifecycleTaints are the taints the node lifecycle controller owns.
var lifecycleTaints = []corev1.Taint{
	{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule},
	{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute},
}

// NodeLifecycleInput is what one health check of a node looks at.
type NodeLifecycleInput struct {
	// Node as last read.
	Node *corev1.Node
	// LastProbe is when the controller last saw the node's kubelet alive:
	// its Lease renewed or its Ready heartbeat moved (local time of the
	// observation, as Kubernetes measures it).
	LastProbe time.Time
	// Now is the time of the check.
	Now time.Time
	// GracePeriod is how long the kubelet may stay silent.
	GracePeriod time.Duration
}

// NodeLifecyclePlan is what one health check writes. A nil field means
// no change.
type NodeLifecyclePlan struct {
	// Status is the node's status with every condition set Unknown,
	// when the kubelet has been silent longer than the grace period.
	Status *corev1.NodeStatus
	// Taints is the node's full new taint list, when the lifecycle taints
	// it should carry differ from those it has.
	Taints []corev1.Taint
	// NotReady: the node just stopped being Ready (its pods are to be
	// marked not ready and an event recorded).
	NotReady bool
}

// PlanNodeLifecycle checks one node, as Kubernetes' node lifecycle
// controller does (tryUpdateNodeHealth, doNoExecuteTaintingPass and the
// condition taints): a kubelet silent for longer than the grace period has
// its node's conditions set Unknown; then the node carries
// node.kubernetes.io/unreachable (Ready Unknown) or
// node.kubernetes.io/not-ready (Ready False), with effects NoSchedule and
// NoExecute, or neither when Ready is True. New NoExecute taints are
// stamped with Now (tolerationSeconds count from it).
func PlanNodeLifecycle(in NodeLifecycleInput) NodeLifecyclePlan {
	var plan NodeLifecyclePlan
	node := in.Node
	status := node.Status
	before := readyStatus(&status)
	if in.Now.Sub(in.LastProbe) > in.GracePeriod && (before != corev1.ConditionUnknown || !hasReady(&status)) {
		st := markUnknown(node.Status, metav1.NewTime(in.Now))
		plan.Status, status = &st, st
	}
	after := readyStatus(&status)
	plan.NotReady = before == corev1.ConditionTrue && after != corev1.ConditionTrue
	want := desiredTaints(node.Spec.Taints, after, metav1.NewTime(in.Now))
	if !sameLifecycleTaints(node.Spec.Taints, want) {
		plan.Taints = want
		if plan.Taints == nil {
			plan.Taints = []corev1.Taint{} // none left, which is a change
		}
	}
	return plan
}

// readyStatus is the Ready condition's status; a node that never posted
// one is Unknown.
func readyStatus(st *corev1.NodeStatus) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

func hasReady(st *corev1.NodeStatus) bool {
	return slices.ContainsFunc(st.Conditions, func(c corev1.NodeCondition) bool { return c.Type == corev1.NodeReady })
}

// markUnknown sets every condition Unknown (adding Ready when the kubelet
// never posted it), keeping heartbeat times.
func markUnknown(st corev1.NodeStatus, now metav1.Time) corev1.NodeStatus {
	st = *st.DeepCopy()
	hasReady := false
	for i := range st.Conditions {
		c := &st.Conditions[i]
		hasReady = hasReady || c.Type == corev1.NodeReady
		if c.Status != corev1.ConditionUnknown {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message = corev1.ConditionUnknown, ReasonNodeStatusUnknown, MessageNodeStatusUnknown
	}
	if !hasReady {
		st.Conditions = append(st.Conditions, corev1.NodeCondition{
			Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: ReasonNodeStatusNeverUpdated,
			Message: MessageNodeNeverUpdated, LastHeartbeatTime: now, LastTransitionTime: now,
		})
	}
	return st
}

// desiredTaints is cur with the lifecycle taints replaced by those ready
// calls for; a lifecycle taint already present keeps its timeAdded.
func desiredTaints(cur []corev1.Taint, ready corev1.ConditionStatus, now metav1.Time) []corev1.Taint {
	var key string
	switch ready {
	case corev1.ConditionFalse:
		key = corev1.TaintNodeNotReady
	case corev1.ConditionUnknown:
		key = corev1.TaintNodeUnreachable
	}
	var out []corev1.Taint
	for _, t := range cur {
		if !isLifecycleTaint(t) || t.Key == key {
			out = append(out, t)
		}
	}
	if key == "" {
		return out
	}
	for _, effect := range []corev1.TaintEffect{corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute} {
		if slices.ContainsFunc(out, func(t corev1.Taint) bool { return t.Key == key && t.Effect == effect }) {
			continue
		}
		t := corev1.Taint{Key: key, Effect: effect}
		if effect == corev1.TaintEffectNoExecute {
			t.TimeAdded = &now
		}
		out = append(out, t)
	}
	return out
}

func isLifecycleTaint(t corev1.Taint) bool {
	return slices.ContainsFunc(lifecycleTaints, func(l corev1.Taint) bool { return l.Key == t.Key && l.Effect == t.Effect })
}

// sameLifecycleTaints compares the lifecycle taints of two lists (by key
// and effect; timeAdded and order aside) and the rest exactly.
func sameLifecycleTaints(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for _, t := range a {
		if !slices.ContainsFunc(b, func(u corev1.Taint) bool {
			if isLifecycleTaint(t) {
				return t.Key == u.Key && t.Effect == u.Effect
			}
			return apiequality.Semantic.DeepEqual(t, u)
		}) {
			return false
		}
	}
	return true
}

// DefaultTolerations are the tolerations every pod is taken to have when
// it has none of its own for the taint: Kubernetes adds them at admission
// (the DefaultTolerationSeconds plugin); navarch applies them when it
// decides evictions, which is equivalent and leaves pods as written.
func DefaultTolerations(seconds int64) []corev1.Toleration {
	return []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &seconds},
		{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &seconds},
	}
}

// EvictionTime says when a pod must leave a node with the given taints
// (Kubernetes' NoExecute taint manager): at once when a NoExecute taint is
// not tolerated; otherwise at the earliest timeAdded+tolerationSeconds
// over the tainted keys; never (ok false) when every NoExecute taint is
// tolerated without a time limit. Tolerations are the pod's own, plus
// DefaultTolerations(defaultSeconds) for the not-ready and unreachable
// taints it does not tolerate itself. A taint without timeAdded counts
// from now.
func EvictionTime(pod *corev1.Pod, taints []corev1.Taint, defaultSeconds int64, now time.Time) (at time.Time, ok bool) {
	tolerations := append([]corev1.Toleration{}, pod.Spec.Tolerations...)
	for _, d := range DefaultTolerations(defaultSeconds) {
		taint := corev1.Taint{Key: d.Key, Effect: d.Effect}
		if !slices.ContainsFunc(pod.Spec.Tolerations, func(t corev1.Toleration) bool { return tolerates(t, &taint) }) {
			tolerations = append(tolerations, d)
		}
	}
	for i := range taints {
		t := &taints[i]
		if t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		seconds, forever, tolerated := int64(-1), false, false
		for _, tol := range tolerations {
			if !tolerates(tol, t) {
				continue
			}
			tolerated = true
			if tol.TolerationSeconds == nil {
				forever = true
				continue
			}
			if s := max(*tol.TolerationSeconds, 0); seconds < 0 || s < seconds {
				seconds = s
			}
		}
		if !tolerated {
			return now, true
		}
		if seconds < 0 && forever {
			continue
		}
		added := now
		if t.TimeAdded != nil {
			added = t.TimeAdded.Time
		}
		when := added.Add(time.Duration(seconds) * time.Second)
		if !ok || when.Before(at) {
			at, ok = when, true
		}
	}
	return at, ok
}

// tolerates reports whether tol tolerates taint (numeric comparison
// operators, an alpha feature of Kubernetes, are not matched).
func tolerates(tol corev1.Toleration, taint *corev1.Taint) bool {
	return tol.ToleratesTaint(klog.Background(), taint, false)
}
