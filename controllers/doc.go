// Package controllers is navarch's controller manager: the loops that keep
// the cluster's actual state converging on what its objects declare.
//
// # Controllers
//
// One process runs, under leader election, a controller per job:
//
//   - Deployment: rolls a Deployment's pod template out through
//     ReplicaSets (RollingUpdate within maxSurge/maxUnavailable, or
//     Recreate), keeps the revision annotations kubectl rollout reads,
//     scales proportionally when a rollout is resized, pauses and resumes,
//     reports Available and Progressing conditions (with the progress
//     deadline) and prunes history beyond revisionHistoryLimit.
//   - ReplicaSet: keeps N pods of a template, owned and labelled with the
//     pod-template-hash, and reports replicas/ready/available.
//   - Node lifecycle: marks nodes whose Lease lapses Unknown, taints them,
//     and evicts pods that do not tolerate it.
//   - Endpoints and EndpointSlices, Namespace deletion, the garbage
//     collector (ownerReferences, propagation policies).
//
// # Shape: pure planners inside thin shells
//
// Each controller is a shell and a core. The shell is client-go: informers
// feed listers, events enqueue namespace/name keys on a rate-limited
// workqueue, and a worker reads the current state of one key and hands it
// to the core. The core is a pure function — no client, no clock (time is
// passed in), no goroutines, no logging — that returns the writes to make.
// The shell performs them in order and requeues on any error; because the
// core works from current state, running it twice is harmless.
//
// # The rollout planner
//
// PlanRollout(RolloutInput{Deployment, ReplicaSets, OldPodsRunning, Now})
// returns a RolloutPlan: ReplicaSet actions (Create, Scale, Update,
// Delete), the Deployment with its new revision annotation and status,
// events, and when to look again for the progress deadline. It is a port of
// Kubernetes' pkg/controller/deployment (syncDeployment, rolling.go,
// recreate.go, sync.go, progress.go and the deployment util), so a
// Deployment behaves here as in Kubernetes:
//
//   - maxSurge resolves rounding up and maxUnavailable rounding down against
//     spec.replicas; both 0 means maxUnavailable 1.
//   - A rolling step first scales the new ReplicaSet up to at most
//     replicas+maxSurge pods in all; if it could not, it removes old
//     unhealthy replicas, then scales old ReplicaSets down (oldest first)
//     while availability stays at or above replicas−maxUnavailable, counting
//     the new ReplicaSet's unavailable pods so a template that never becomes
//     ready stalls the rollout instead of eating into the old pods.
//   - Recreate scales every old ReplicaSet to zero, waits until their pods
//     are gone (OldPodsRunning, status.replicas), then scales the new one up.
//   - A change of spec.replicas mid-rollout (detected by the
//     deployment.kubernetes.io/desired-replicas annotation) is spread over
//     the active ReplicaSets in proportion to their size, using the
//     max-replicas annotation they were sized for.
//   - The new ReplicaSet is named <deployment>-<pod-template-hash>, the hash
//     being Kubernetes' own (ComputeHash; collisionCount bumped on a name
//     clash). Its revision is 1 + the highest old revision; a rollback to an
//     older template reuses that ReplicaSet, raises its revision and records
//     the previous one in deployment.kubernetes.io/revision-history.
//   - Conditions: Available (MinimumReplicasAvailable /
//     MinimumReplicasUnavailable); Progressing (NewReplicaSetCreated,
//     FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
//     ProgressDeadlineExceeded, DeploymentPaused, DeploymentResumed).
//
// The plan is what one Kubernetes sync does when every write succeeds: the
// planner applies each of its writes to its working copies, so later steps
// of the same sync see them. The shell's duties: list the ReplicaSets the
// Deployment controls (adopting and orphaning by selector as Kubernetes
// does), tell whether old pods are still running (for Recreate), perform
// the actions then write annotations and status, record the events, and
// requeue after RequeueAfter when set.
package controllers
