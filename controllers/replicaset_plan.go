package controllers

import (
	"math"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// DefaultBurstReplicas caps the pods one ReplicaSet sync creates or
// deletes (Kubernetes' burstReplicas).
const DefaultBurstReplicas = 500

// PodDeletionCostAnnotation ranks pods for scale-down: lower cost goes
// first (Kubernetes' controller.kubernetes.io/pod-deletion-cost).
const PodDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// ReplicaSetInput is what one ReplicaSet sync looks at.
type ReplicaSetInput struct {
	// ReplicaSet as last read.
	ReplicaSet *appsv1.ReplicaSet
	// Pods the ReplicaSet controls (after adoption and release), in any
	// state, finished and terminating ones included.
	Pods []*corev1.Pod
	// Manage is false while earlier creations or deletions have not been
	// seen yet (expectations): then only the status is computed.
	Manage bool
	// BurstReplicas caps creations and deletions; 0 means
	// DefaultBurstReplicas.
	BurstReplicas int
	// Now is the time of the sync (availability, minReadySeconds).
	Now time.Time
}

// ReplicaSetPlan is what one sync writes.
type ReplicaSetPlan struct {
	// Create is how many pods to create from the template.
	Create int
	// Delete are the pods to delete, most expendable first.
	Delete []*corev1.Pod
	// Status is the ReplicaSet's status computed from its active pods
	// less those Delete removes (Kubernetes counts them until its next
	// sync; navarch does not report as available a pod it is deleting);
	// StatusChanged says whether it differs from the stored one.
	Status        appsv1.ReplicaSetStatus
	StatusChanged bool
	// RequeueAfter > 0: a ready pod becomes available (minReadySeconds)
	// then, and the status should be computed again.
	RequeueAfter time.Duration
}

// PlanReplicaSet computes one ReplicaSet sync, porting Kubernetes'
// ReplicaSet controller (manageReplicas, getPodsToDelete,
// calculateStatus): the active pods (neither finished nor being deleted)
// are compared with spec.replicas; missing pods are created and surplus
// ones deleted, at most BurstReplicas at a time; a ReplicaSet being
// deleted is only counted.
func PlanReplicaSet(in ReplicaSetInput) ReplicaSetPlan {
	rs := in.ReplicaSet
	burst := in.BurstReplicas
	if burst <= 0 {
		burst = DefaultBurstReplicas
	}
	var active []*corev1.Pod
	for _, p := range in.Pods {
		if isPodActive(p) {
			active = append(active, p)
		}
	}
	var plan ReplicaSetPlan
	if in.Manage && rs.DeletionTimestamp == nil {
		diff := len(active) - int(replicas(rs.Spec.Replicas))
		switch {
		case diff < 0:
			plan.Create = min(-diff, burst)
		case diff > 0:
			plan.Delete = podsToDelete(active, min(diff, burst))
		}
	}
	// Pods this sync deletes no longer count: the status says what will
	// run, so a Deployment reading it does not count them as available.
	plan.Status = replicaSetStatus(rs, without(active, plan.Delete), in.Now)
	plan.StatusChanged = !apiequality.Semantic.DeepEqual(plan.Status, rs.Status)
	if mrs := rs.Spec.MinReadySeconds; mrs > 0 {
		plan.RequeueAfter = nextAvailable(active, mrs, in.Now)
	}
	return plan
}

// without returns pods minus those in drop.
func without(pods, drop []*corev1.Pod) []*corev1.Pod {
	if len(drop) == 0 {
		return pods
	}
	gone := make(map[*corev1.Pod]bool, len(drop))
	for _, p := range drop {
		gone[p] = true
	}
	out := make([]*corev1.Pod, 0, len(pods)-len(drop))
	for _, p := range pods {
		if !gone[p] {
			out = append(out, p)
		}
	}
	return out
}

// replicaSetStatus counts the active pods (calculateStatus). Conditions
// are carried over.
func replicaSetStatus(rs *appsv1.ReplicaSet, active []*corev1.Pod, now time.Time) appsv1.ReplicaSetStatus {
	st := appsv1.ReplicaSetStatus{
		Replicas:           int32(len(active)),
		ObservedGeneration: rs.Generation,
		Conditions:         rs.Status.Conditions,
	}
	templateLabels := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	for _, p := range active {
		if templateLabels.Matches(labels.Set(p.Labels)) {
			st.FullyLabeledReplicas++
		}
		if isPodReady(p) {
			st.ReadyReplicas++
			if isPodAvailable(p, rs.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
	}
	return st
}

// nextAvailable is how long until the first ready but not yet available
// pod becomes available; 0 when there is none.
func nextAvailable(active []*corev1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	var next time.Duration
	for _, p := range active {
		c := podReadyCondition(p)
		if c == nil || c.Status != corev1.ConditionTrue || isPodAvailable(p, minReadySeconds, now) {
			continue
		}
		d := c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).Sub(now) + time.Millisecond
		if d <= 0 {
			d = time.Millisecond
		}
		if next == 0 || d < next {
			next = d
		}
	}
	return next
}

// podsToDelete returns the n most expendable pods, ranked as Kubernetes'
// ActivePodsWithRanks ranks them: unassigned before assigned; pending
// before unknown before running; not ready before ready; lower
// pod-deletion-cost first; more pods of the ReplicaSet on the same node
// first (spreading what stays); ready for less time first; more container
// restarts first; newer first.
func podsToDelete(active []*corev1.Pod, n int) []*corev1.Pod {
	perNode := map[string]int{}
	for _, p := range active {
		if p.Spec.NodeName != "" {
			perNode[p.Spec.NodeName]++
		}
	}
	ranked := make([]rankedPod, len(active))
	for i, p := range active {
		ranked[i] = rankedPod{pod: p, rank: perNode[p.Spec.NodeName]}
		if p.Spec.NodeName == "" {
			ranked[i].rank = 0
		}
	}
	sort.SliceStable(ranked, func(i, j int) bool { return deleteBefore(ranked[i], ranked[j]) })
	out := make([]*corev1.Pod, 0, n)
	for i := 0; i < n && i < len(ranked); i++ {
		out = append(out, ranked[i].pod)
	}
	return out
}

type rankedPod struct {
	pod  *corev1.Pod
	rank int
}

var phaseOrder = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

func deleteBefore(a, b rankedPod) bool {
	pa, pb := a.pod, b.pod
	if (pa.Spec.NodeName == "") != (pb.Spec.NodeName == "") {
		return pa.Spec.NodeName == ""
	}
	if phaseOrder[pa.Status.Phase] != phaseOrder[pb.Status.Phase] {
		return phaseOrder[pa.Status.Phase] < phaseOrder[pb.Status.Phase]
	}
	if isPodReady(pa) != isPodReady(pb) {
		return !isPodReady(pa)
	}
	if ca, cb := deletionCost(pa), deletionCost(pb); ca != cb {
		return ca < cb
	}
	if a.rank != b.rank {
		return a.rank > b.rank
	}
	if isPodReady(pa) && isPodReady(pb) {
		ta, tb := podReadyCondition(pa).LastTransitionTime, podReadyCondition(pb).LastTransitionTime
		if !ta.Equal(&tb) {
			return afterOrZero(ta, tb)
		}
	}
	if ra, rb := maxRestarts(pa), maxRestarts(pb); ra != rb {
		return ra > rb
	}
	ta, tb := pa.CreationTimestamp, pb.CreationTimestamp
	if !ta.Equal(&tb) {
		return afterOrZero(ta, tb)
	}
	return pa.Name > pb.Name
}

// afterOrZero orders times newest first, a zero time before any other.
func afterOrZero(a, b metav1.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero()
	}
	return a.After(b.Time)
}

func deletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[PodDeletionCostAnnotation]
	if !ok {
		return 0
	}
	c, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(c)
}

func maxRestarts(p *corev1.Pod) int32 {
	var m int32 = math.MinInt32
	for _, s := range p.Status.ContainerStatuses {
		m = max(m, s.RestartCount)
	}
	if m == math.MinInt32 {
		return 0
	}
	return m
}

// PodFromTemplate returns a new pod of rs's template: its labels,
// annotations, finalizers and spec; named rs.Name plus a random suffix
// (generateName); controlled by rs (controller and blockOwnerDeletion).
func PodFromTemplate(rs *appsv1.ReplicaSet) *corev1.Pod {
	t := rs.Spec.Template.DeepCopy()
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    rs.Name + "-",
			Namespace:       rs.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))},
		},
		Spec: t.Spec,
	}
}
