// Package controllers is navarch's controller manager: the loops that keep
// the cluster's actual state converging on what its objects declare.
//
// # Controllers
//
// New(Options) then Run(ctx) runs, over one set of shared informers, the
// controllers Options.Controllers names (all by default). In a navarch
// server they run under leader election (internal/leader, Lease
// navarch-controller-manager), a fresh Manager per term.
//
//   - Deployment: the shell around PlanRollout (below): claims the
//     ReplicaSets its selector matches (adopting orphans, releasing what no
//     longer matches), performs the plan's writes, then writes the
//     revision annotation and status through the status subresource, and
//     requeues for the progress deadline. Pause, resume and the scale
//     subresource are fields the planner reads.
//   - ReplicaSet: the shell around PlanReplicaSet: N pods of the template
//     (generateName <rs>-, controller ownerReference with
//     blockOwnerDeletion), created in slow-start batches of 1, 2, 4 … and
//     at most 500 per sync; expectations, as Kubernetes', keep a slow watch
//     from causing double creations or deletions; surplus pods go
//     unscheduled first, then pending, not ready, lower deletion cost,
//     crowded nodes, most recently ready, most restarted, newest; status
//     replicas, fullyLabeledReplicas, readyReplicas, availableReplicas
//     (minReadySeconds, with a requeue when a pod will become available)
//     and observedGeneration.
//   - Node lifecycle: a node whose Lease is not renewed (and whose Ready
//     heartbeat does not move) for NodeMonitorGracePeriod (40 s) has every
//     condition set Unknown (NodeStatusUnknown); a node Ready=Unknown is
//     tainted node.kubernetes.io/unreachable, one Ready=False
//     node.kubernetes.io/not-ready, both NoSchedule and NoExecute (stamped
//     timeAdded); its pods are set Ready=False and an event recorded; the
//     taints go when the kubelet reports Ready=True again
//     (PlanNodeLifecycle). Unlike Kubernetes, evictions are not rate
//     limited and not halted when a whole zone fails.
//   - Taint eviction: a pod on a node with a NoExecute taint it does not
//     tolerate is deleted at once; one it tolerates for tolerationSeconds
//     is deleted at timeAdded + tolerationSeconds (EvictionTime).
//     Kubernetes' DefaultTolerationSeconds admission plugin adds to every
//     pod tolerations of not-ready and unreachable for 300 s; navarch's
//     API server does not, so the controller applies the same defaults
//     (DefaultTolerations, Options.DefaultTolerationSeconds) when the pod
//     has no toleration of its own for the taint. The effect is the same
//     and pods stay as written.
//   - Endpoints and EndpointSlices, per Service with a selector
//     (EndpointsFor, EndpointSlicesFor): ready and not-ready addresses,
//     target ports resolved by name per pod, subsets grouped by port set;
//     slices labelled kubernetes.io/service-name and
//     endpointslice.kubernetes.io/managed-by, owned by the Service, at most
//     100 endpoints each, with ready/serving/terminating conditions.
//   - Namespace: a namespace being deleted with the "kubernetes" finalizer
//     has every namespaced object deleted (background propagation; it
//     looks again every second while objects remain), then the finalizer
//     removed through namespaces/finalize.
//   - Garbage collector: a graph of every object's ownerReferences from
//     metadata informers over every deletable resource discovery lists
//     (events excepted). Background: a dependent whose owners are all gone
//     is deleted (an owner missing from the graph is looked up live, so a
//     new owner is never taken for gone); references to gone owners are
//     dropped when others remain. Foreground: an owner being deleted with
//     foregroundDeletion has its dependents deleted in the foreground and
//     loses the finalizer once no dependent with blockOwnerDeletion
//     remains. Orphan: the owner's reference is removed from every
//     dependent, then the orphan finalizer.
//   - Pod GC: finished pods beyond TerminatedPodGCThreshold (12,500),
//     oldest first; pods bound to a node that has not existed for 40 s;
//     pods being deleted that never got a node.
//   - Node IPAM: a pod CIDR for every node, a /24 of Options.ClusterCIDR
//     (nodeipam.go).
//
// Events (core/v1) are written through client-go's recorder
// (internal/events), which folds repeats into one Event with a count:
// ScalingReplicaSet and the rollout's conditions on Deployments,
// SuccessfulCreate/SuccessfulDelete/FailedCreate on ReplicaSets,
// NodeNotReady on nodes and pods, TaintManagerEviction on pods.
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
//     Where navarch is stricter than Kubernetes, so that the bounds hold
//     for pods as a watch sees them and not only for ReplicaSet specs: a
//     ReplicaSet counts toward the surge at the larger of its spec and its
//     pods (status.replicas), so the new ReplicaSet does not grow while an
//     old one's surplus pods are not yet being deleted; a ReplicaSet counts
//     at most spec.replicas available pods when old ones are scaled down;
//     and a ReplicaSet's status leaves out the pods its own sync deletes.
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
