package controllers

import (
	"sort"

	appsv1 "k8s.io/api/apps/v1"
)

// rolloutRolling is one step of a RollingUpdate: scale the new ReplicaSet
// up within maxSurge if possible; otherwise scale old ones down within
// maxUnavailable; clean up history once complete; update status.
func (p *planner) rolloutRolling() {
	newRS, oldRSs := p.replicaSetsAndSyncRevision(true)
	all := append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	if newRS == nil {
		// A hash collision was found: collisionCount is bumped, the next
		// sync creates the ReplicaSet under a new name.
		p.syncRolloutStatus(all, newRS)
		return
	}
	if p.reconcileNewReplicaSet(all, newRS) {
		p.syncRolloutStatus(all, newRS)
		return
	}
	if p.reconcileOldReplicaSets(all, activeReplicaSets(oldRSs), newRS) {
		p.syncRolloutStatus(all, newRS)
		return
	}
	if deploymentComplete(p.d, &p.d.Status) {
		p.cleanupDeployment(oldRSs)
	}
	p.syncRolloutStatus(all, newRS)
}

func (p *planner) reconcileNewReplicaSet(all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) bool {
	want := replicas(p.d.Spec.Replicas)
	have := replicas(newRS.Spec.Replicas)
	if have == want {
		return false
	}
	if have > want {
		return p.scaleAndRecord(newRS, want)
	}
	return p.scaleAndRecord(newRS, newRSNewReplicas(p.d, all, newRS))
}

// reconcileOldReplicaSets scales old ReplicaSets down as far as
// maxUnavailable allows, first removing their unhealthy replicas.
func (p *planner) reconcileOldReplicaSets(all, oldRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) bool {
	if sumSpecReplicas(oldRSs) == 0 {
		return false
	}
	allPods := sumSpecReplicas(all)
	minAvailable := replicas(p.d.Spec.Replicas) - MaxUnavailable(p.d)
	newUnavailable := replicas(newRS.Spec.Replicas) - newRS.Status.AvailableReplicas
	// Count the new ReplicaSet's unavailable pods too, so that a new
	// template that never becomes available cannot eat into old pods.
	maxScaledDown := allPods - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false
	}
	cleaned := p.cleanupUnhealthyReplicas(oldRSs, maxScaledDown)
	scaled := p.scaleDownOldForRollingUpdate(append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS), oldRSs)
	return cleaned+scaled > 0
}

// cleanupUnhealthyReplicas scales old ReplicaSets down by their unavailable
// replicas, oldest first, at most maxCleanup in all: removing them costs no
// availability.
func (p *planner) cleanupUnhealthyReplicas(oldRSs []*appsv1.ReplicaSet, maxCleanup int32) int32 {
	sort.Sort(byCreation(oldRSs))
	var total int32
	for _, rs := range oldRSs {
		if total >= maxCleanup {
			break
		}
		n := replicas(rs.Spec.Replicas)
		if n == 0 || n == rs.Status.AvailableReplicas {
			continue
		}
		down := min(maxCleanup-total, n-rs.Status.AvailableReplicas)
		if n-down > n {
			continue // negative availability in status; nothing sane to do
		}
		p.scaleAndRecord(rs, n-down)
		total += down
	}
	return total
}

// scaleDownOldForRollingUpdate scales old ReplicaSets down, oldest first,
// by what availability above spec.replicas − maxUnavailable allows. A
// ReplicaSet counts at most its spec.replicas available pods: one just
// scaled down may still report the pods it is about to delete (Kubernetes
// counts them, and can then drop below the minimum for a moment).
func (p *planner) scaleDownOldForRollingUpdate(all, oldRSs []*appsv1.ReplicaSet) int32 {
	minAvailable := replicas(p.d.Spec.Replicas) - MaxUnavailable(p.d)
	available := sumAvailableWithinSpec(all)
	if available <= minAvailable {
		return 0
	}
	sort.Sort(byCreation(oldRSs))
	var total int32
	target := available - minAvailable
	for _, rs := range oldRSs {
		if total >= target {
			break
		}
		n := replicas(rs.Spec.Replicas)
		if n == 0 {
			continue
		}
		down := min(n, target-total)
		p.scaleAndRecord(rs, n-down)
		total += down
	}
	return total
}

// rolloutRecreate scales every old ReplicaSet to zero, waits until their
// pods are gone, then creates or scales the new ReplicaSet to full size.
func (p *planner) rolloutRecreate() {
	newRS, oldRSs := p.replicaSetsAndSyncRevision(false)
	all := append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	scaledDown := false
	for _, rs := range activeReplicaSets(oldRSs) {
		if p.scaleAndRecord(rs, 0) {
			scaledDown = true
		}
	}
	if scaledDown {
		p.syncRolloutStatus(all, newRS)
		return
	}
	if sumStatus(oldRSs, statusReplicas) > 0 || p.oldPodsRunning {
		p.syncRolloutStatus(all, newRS)
		return
	}
	if newRS == nil {
		newRS, oldRSs = p.replicaSetsAndSyncRevision(true)
		all = append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	}
	if newRS != nil {
		p.scaleAndRecord(newRS, replicas(p.d.Spec.Replicas))
	}
	if deploymentComplete(p.d, &p.d.Status) {
		p.cleanupDeployment(oldRSs)
	}
	p.syncRolloutStatus(all, newRS)
}
