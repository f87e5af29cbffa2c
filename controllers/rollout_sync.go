package controllers

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// replicaSetsAndSyncRevision splits the ReplicaSets into the new one (nil
// when none has the Deployment's template and create is false) and all old
// ones, keeping the new one's revision above every old one's
// (getAllReplicaSetsAndSyncRevision).
func (p *planner) replicaSetsAndSyncRevision(create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet) {
	existing := FindNewReplicaSet(p.d, p.rss)
	var old []*appsv1.ReplicaSet
	for _, rs := range p.rss {
		if rs != existing {
			old = append(old, rs)
		}
	}
	return p.newReplicaSet(existing, old, create), old
}

// newReplicaSet is getNewReplicaSet: sync the existing new ReplicaSet's
// annotations and minReadySeconds, or create it with revision max(old)+1.
func (p *planner) newReplicaSet(existing *appsv1.ReplicaSet, old []*appsv1.ReplicaSet, create bool) *appsv1.ReplicaSet {
	d := p.d
	newRevision := strconv.FormatInt(MaxRevision(old)+1, 10)
	if existing != nil {
		updated := setNewReplicaSetAnnotations(d, existing, newRevision, true)
		if updated || existing.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			existing.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			n := replicas(existing.Spec.Replicas)
			p.write(ActionUpdate, existing, n, n)
			return existing
		}
		setDeploymentRevision(d, existing.Annotations[RevisionAnnotation])
		if hasProgressDeadline(d) && getCondition(d.Status, appsv1.DeploymentProgressing) == nil {
			p.setCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonFoundNewReplicaSet,
				fmt.Sprintf("Found new replica set %q", existing.Name))
		}
		return existing
	}
	if !create {
		return nil
	}
	template := *d.Spec.Template.DeepCopy()
	hash := ComputeHash(&template, d.Status.CollisionCount)
	template.Labels = cloneAndAdd(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	selector := d.Spec.Selector.DeepCopy()
	selector.MatchLabels = cloneAndAdd(selector.MatchLabels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	name := d.Name + "-" + hash
	for _, rs := range p.rss {
		if rs.Name == name {
			// A ReplicaSet of this name with another template: a hash
			// collision. Bump collisionCount; the next sync uses a new name.
			if d.Status.CollisionCount == nil {
				d.Status.CollisionCount = new(int32)
			}
			*d.Status.CollisionCount++
			return nil
		}
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:              name,
			Namespace:         d.Namespace,
			Labels:            template.Labels,
			OwnerReferences:   []metav1.OwnerReference{*metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))},
			CreationTimestamp: p.now,
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        new(int32),
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        template,
		},
	}
	*rs.Spec.Replicas = newRSNewReplicas(d, append(append([]*appsv1.ReplicaSet{}, old...), rs), rs)
	setNewReplicaSetAnnotations(d, rs, newRevision, false)
	p.rss = append(p.rss, rs)
	p.write(ActionCreate, rs, 0, *rs.Spec.Replicas)
	if n := *rs.Spec.Replicas; n > 0 {
		p.event(corev1.EventTypeNormal, "ScalingReplicaSet", fmt.Sprintf("Scaled up replica set %s from 0 to %d", rs.Name, n))
	}
	setDeploymentRevision(d, newRevision)
	if hasProgressDeadline(d) {
		p.setCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetCreated,
			fmt.Sprintf("Created new replica set %q", rs.Name))
	}
	return rs
}

func cloneAndAdd(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}

func setDeploymentRevision(d *appsv1.Deployment, revision string) {
	if d.Annotations == nil {
		d.Annotations = make(map[string]string)
	}
	d.Annotations[RevisionAnnotation] = revision
}

// newRSNewReplicas is how large the new ReplicaSet may be now: for a
// rolling update, up to spec.replicas+maxSurge pods in all, never above
// spec.replicas; for Recreate, spec.replicas.
func newRSNewReplicas(d *appsv1.Deployment, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	want := replicas(d.Spec.Replicas)
	if !isRollingUpdate(d) {
		return want
	}
	maxTotal := want + MaxSurge(d)
	current := sumPodsOrSpec(all)
	if current >= maxTotal {
		return replicas(newRS.Spec.Replicas)
	}
	up := min(maxTotal-current, want-replicas(newRS.Spec.Replicas))
	return replicas(newRS.Spec.Replicas) + up
}

// isScalingEvent: an active ReplicaSet's desired-replicas annotation
// differs from spec.replicas — the Deployment was scaled, not changed.
func (p *planner) isScalingEvent() bool {
	newRS, oldRSs := p.replicaSetsAndSyncRevision(false)
	for _, rs := range activeReplicaSets(append(oldRSs, newRS)) {
		if desired, ok := intAnnotation(rs, DesiredReplicasAnnotation); ok && desired != replicas(p.d.Spec.Replicas) {
			return true
		}
	}
	return false
}

// sync handles scaling events and paused Deployments: scale
// proportionally, clean up history, update status — no rollout progress.
func (p *planner) sync() {
	newRS, oldRSs := p.replicaSetsAndSyncRevision(false)
	p.scale(newRS, oldRSs)
	if p.d.Spec.Paused && getRollbackTo(p.d) == nil {
		p.cleanupDeployment(oldRSs)
	}
	p.syncDeploymentStatus(append(oldRSs, newRS), newRS)
}

// getRollbackTo: navarch has no extensions/v1beta1 rollback spec; kept so
// the clean-up condition reads as in Kubernetes.
func getRollbackTo(*appsv1.Deployment) *int64 { return nil }

// scale spreads a change of spec.replicas over the active ReplicaSets in
// proportion to their size, so that a rollout scaled midway keeps its mix.
func (p *planner) scale(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) {
	d := p.d
	want := replicas(d.Spec.Replicas)
	if rs := findActiveOrLatest(newRS, oldRSs); rs != nil {
		if replicas(rs.Spec.Replicas) != want {
			p.scaleAndRecord(rs, want)
		}
		return
	}
	if isSaturated(d, newRS) {
		for _, old := range activeReplicaSets(oldRSs) {
			p.scaleAndRecord(old, 0)
		}
		return
	}
	if !isRollingUpdate(d) {
		return
	}
	all := activeReplicaSets(append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS))
	var allowed int32
	if want > 0 {
		allowed = want + MaxSurge(d)
	}
	toAdd := allowed - sumSpecReplicas(all)
	switch {
	case toAdd > 0:
		sort.Sort(bySizeNewer(all))
	case toAdd < 0:
		sort.Sort(bySizeOlder(all))
	}
	var added int32
	sizes := make([]int32, len(all))
	for i, rs := range all {
		sizes[i] = replicas(rs.Spec.Replicas)
		if toAdd != 0 {
			prop := p.proportion(rs, toAdd, added)
			sizes[i] += prop
			added += prop
		}
	}
	for i, rs := range all {
		if i == 0 && toAdd != 0 {
			sizes[i] = max(sizes[i]+toAdd-added, 0)
		}
		p.scaleReplicaSet(rs, sizes[i])
	}
}

// proportion is GetReplicaSetProportion: rs's share of toAdd, bounded by
// what is left to add (or remove).
func (p *planner) proportion(rs *appsv1.ReplicaSet, toAdd, added int32) int32 {
	if rs == nil || replicas(rs.Spec.Replicas) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := p.fraction(rs)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(fraction, allowed)
	}
	return max(fraction, allowed)
}

// fraction is getReplicaSetFraction: the size rs would have at the new
// max-replicas in proportion to the max-replicas it was sized for.
func (p *planner) fraction(rs *appsv1.ReplicaSet) int32 {
	d := p.d
	if replicas(d.Spec.Replicas) == 0 {
		return -replicas(rs.Spec.Replicas)
	}
	maxNow := replicas(d.Spec.Replicas) + MaxSurge(d)
	maxBefore, ok := intAnnotation(rs, MaxReplicasAnnotation)
	if !ok || maxBefore == 0 {
		maxBefore = d.Status.Replicas
		if maxBefore == 0 {
			return 0
		}
	}
	size := float64(replicas(rs.Spec.Replicas)*maxNow) / float64(maxBefore)
	return int32(math.Round(size)) - replicas(rs.Spec.Replicas)
}

// findActiveOrLatest returns the only active ReplicaSet, the newest one
// when none is active, or nil when several are active.
func findActiveOrLatest(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	// Sorted in place, newest first, as Kubernetes does: the caller's
	// later walks over oldRSs see this order.
	sort.Sort(sort.Reverse(byCreation(oldRSs)))
	all := activeReplicaSets(append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS))
	switch len(all) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return oldRSs[0]
	case 1:
		return all[0]
	default:
		return nil
	}
}

// isSaturated: the new ReplicaSet holds all desired replicas, believes so
// (desired-replicas annotation) and all are available.
func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := intAnnotation(rs, DesiredReplicasAnnotation)
	want := replicas(d.Spec.Replicas)
	return ok && replicas(rs.Spec.Replicas) == want && desired == want && rs.Status.AvailableReplicas == want
}

// scaleAndRecord scales rs to n when it differs (scaleReplicaSetAndRecordEvent).
func (p *planner) scaleAndRecord(rs *appsv1.ReplicaSet, n int32) bool {
	if replicas(rs.Spec.Replicas) == n {
		return false
	}
	return p.scaleReplicaSet(rs, n)
}

// scaleReplicaSet sets rs's size and desired/max-replicas annotations,
// writing when either changes; it reports whether the size changed.
func (p *planner) scaleReplicaSet(rs *appsv1.ReplicaSet, n int32) bool {
	d := p.d
	want := replicas(d.Spec.Replicas)
	old := replicas(rs.Spec.Replicas)
	sizeChanged := old != n
	if !sizeChanged && !replicasAnnotationsNeedUpdate(rs, want, want+MaxSurge(d)) {
		return false
	}
	rs.Spec.Replicas = &n
	setReplicasAnnotations(rs, want, want+MaxSurge(d))
	if !sizeChanged {
		p.write(ActionUpdate, rs, old, n)
		return false
	}
	p.write(ActionScale, rs, old, n)
	dir := "down"
	if old < n {
		dir = "up"
	}
	p.event(corev1.EventTypeNormal, "ScalingReplicaSet", fmt.Sprintf("Scaled %s replica set %s from %d to %d", dir, rs.Name, old, n))
	return true
}

// cleanupDeployment deletes the oldest old ReplicaSets beyond
// revisionHistoryLimit, skipping any that still have pods, are being
// deleted, or whose status is not yet observed.
func (p *planner) cleanupDeployment(oldRSs []*appsv1.ReplicaSet) {
	for _, rs := range CleanupCandidates(p.d, oldRSs) {
		p.remove(rs)
	}
}

// CleanupCandidates returns the old ReplicaSets revisionHistoryLimit lets
// go, oldest revision first: of the len(alive) − limit lowest revisions,
// those with no pods, observed, and not already being deleted.
func CleanupCandidates(d *appsv1.Deployment, oldRSs []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	if !hasRevisionHistoryLimit(d) {
		return nil
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range oldRSs {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := int32(len(alive)) - *d.Spec.RevisionHistoryLimit
	if diff <= 0 {
		return nil
	}
	sort.Sort(byRevision(alive))
	var out []*appsv1.ReplicaSet
	for i := int32(0); i < diff; i++ {
		rs := alive[i]
		if rs.Status.Replicas != 0 || replicas(rs.Spec.Replicas) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		out = append(out, rs)
	}
	return out
}
