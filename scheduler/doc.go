// Package scheduler decides which node each pending pod runs on.
//
// # The one job
//
// Given the cluster as it is — nodes and the pods already bound to them —
// and one pod, choose a node, or say precisely why there is none. That
// decision is a pure function here: no API client, no clock, no goroutines,
// no logging. A thin shell (informers feeding a Snapshot, a queue of
// pending pods, the pods/binding call, events and PodScheduled conditions,
// back-off) wraps it; the shell is the only part that does I/O.
//
// The design follows kube-scheduler's framework, reduced to what navarch
// needs, and nomad's scheduler/ in spirit: read-only state in, a decision
// out, tested through golden files.
//
// # Seams
//
//   - Snapshot: the cluster state. NewSnapshot(nodes, pods) builds it; the
//     shell then keeps ONE snapshot for the life of the process and applies
//     every informer event to it (UpdateNode, RemoveNode, AddPod, UpdatePod,
//     RemovePod). Each node carries aggregates kept incrementally: requested
//     cpu/memory/ephemeral-storage/extended resources (and the "non-zero"
//     requests used for scoring), pod count, host ports in use (reference
//     counted), the pods with inter-pod affinity and with required
//     anti-affinity, and the number of pods of each controller (owner UID)
//     for spreading. Pods bound to a node the snapshot does not know yet are
//     held aside and counted once the node arrives. Terminal pods
//     (Succeeded/Failed) are not counted.
//   - Scheduler: New(Options) then Schedule(snapshot, pod) returns
//     Result{NodeName, Feasible, Evaluated, Score, Scores} or a *FitError.
//     Schedule never changes the snapshot: after a successful bind the shell
//     calls AddPod with the bound pod (kube-scheduler's "assume"), and
//     removes it again if the bind fails.
//   - Responsible(pod, name): whether this scheduler owns the pod
//     (spec.schedulerName). The shell also skips pods that already have a
//     node or are being deleted.
//   - Explain(snapshot, pod): every node's verdict without sampling, for
//     tests and diagnostics.
//
// # Filters (in kube-scheduler's default order; a node stops at the first)
//
//   - NodeUnschedulable: spec.unschedulable refuses the node unless the pod
//     tolerates node.kubernetes.io/unschedulable:NoSchedule.
//   - NodeName: a pod naming a node fits only there.
//   - TaintToleration: every NoSchedule and NoExecute taint must be
//     tolerated. Node health reaches the scheduler only this way: the node
//     lifecycle controller taints NotReady and unreachable nodes
//     (node.kubernetes.io/not-ready, node.kubernetes.io/unreachable); the
//     Ready condition itself is not read.
//   - NodeAffinity: spec.nodeSelector and required node affinity
//     (nodeSelectorTerms ORed; matchExpressions In, NotIn, Exists,
//     DoesNotExist, Gt, Lt; matchFields metadata.name), evaluated with
//     k8s.io/component-helpers, the code kube-scheduler uses.
//   - NodePorts: a host port clashes with the same protocol and port on the
//     same address or on 0.0.0.0.
//   - NodeResourcesFit: the pod's requests — the larger of the containers'
//     sum (with restartable init containers) and the largest init
//     container, plus overhead; an explicit 0 is 0 — against allocatable
//     minus what bound pods request, for cpu, memory, ephemeral-storage,
//     extended resources, and the pod count.
//   - InterPodAffinity: the pod's required affinity (a matching pod in the
//     same topology domain; the first pod of a group that matches its own
//     terms may start it anywhere), its required anti-affinity, and the
//     required anti-affinity of pods already running against it. Any node
//     label is a topology key; kubernetes.io/hostname is the usual one.
//
// Refusal reasons are kube-scheduler's words, so FitError reads as
// Kubernetes users expect:
//
//	0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu.
//
// (no preemption suffix: navarch does not preempt).
//
// # Scores (0–100 each, then weighted and summed)
//
//	NodeResourcesFit (LeastAllocated)   weight 1   room left for cpu and memory
//	NodeResourcesBalancedAllocation     weight 1   cpu and memory used evenly
//	TaintToleration                     weight 3   fewer untolerated PreferNoSchedule taints
//	NodeAffinity                        weight 2   preferred node affinity terms
//	InterPodAffinity                    weight 2   preferred (anti-)affinity, both ways
//	SelectorSpread                      weight 2   fewer pods of the same controller on the node and zone
//
// Normalisation follows each kube-scheduler plugin. A plugin with nothing
// to say about a pod (no preferred terms, no owner, no requests) is skipped
// and adds nothing. SelectorSpread keys on the pod's controller
// ownerReference (its ReplicaSet, StatefulSet …) rather than on Service
// selectors, and weighs zones (topology.kubernetes.io/region+zone) by 2/3
// when nodes have them.
//
// Ties between equal totals go to the node with the smallest FNV-1a hash
// of (Options.Seed, pod UID, node name): reproducible for tests, and
// different pods of one ReplicaSet land on different nodes of a tie.
//
// # Sampling, for scale
//
// Like kube-scheduler's percentageOfNodesToScore, Schedule stops filtering
// once it has found enough feasible nodes and scores only those:
//
//	nodes < 100                 all nodes
//	otherwise, percentage p     p = Options.PercentageOfNodesToScore, or when 0
//	                            adaptively p = max(5, 50 − nodes/125)
//	sample = max(100, nodes × p / 100)
//
// so 1,000 nodes → 42% → 420 feasible nodes; 5,000 nodes → 10% → 500.
// Each decision starts walking the node list where the previous one stopped,
// so over successive decisions every node is examined and load spreads. A
// pod that fits nowhere is still checked against every node, so its
// FitError is complete. Result.Evaluated tells how far the walk went.
//
// The per-pod work outside the node walk is proportional to the pods that
// matter: the existing-anti-affinity pass visits only pods with required
// anti-affinity, the affinity counts are computed only for pods with
// required terms, and preferred inter-pod scoring only when some pod has
// affinity. Scratch buffers are reused across decisions.
//
// # The shell
//
// NewShell(ShellOptions) then Run(ctx) is the running scheduler, shaped
// like kube-scheduler:
//
//   - Informers on nodes, pods and namespaces feed ONE Snapshot (bound
//     pods, nodes, namespace labels) and the scheduling queue (pending pods
//     whose schedulerName is this scheduler's; default-scheduler when
//     empty). managedFields are dropped from the cache.
//   - The queue has kube-scheduler's three parts: activeQ (by priority,
//     then age), backoffQ (failed pods serving a back-off of 1 s doubled
//     per attempt up to 10 s) and unschedulablePods (pods that fit nowhere,
//     waiting for a change that could help: a node added, or changed in
//     capacity, labels, taints, schedulability or a condition's status; a
//     bound pod deleted or finished; the pod's own spec or labels changed).
//     A flush every second moves pods whose back-off is over, and pods
//     unschedulable for MaxUnschedulable (5 min), back to activeQ. Node
//     heartbeats and the scheduler's own status writes are not changes,
//     so an unschedulable pod is not retried in a loop.
//   - One goroutine pops a pod, decides, and on success assumes it: the
//     pod is added to the snapshot as bound before the binding is written,
//     so throughput is not bounded by API round trips. BindWorkers
//     goroutines POST pods/binding; a failed binding forgets the
//     assumption and retries the pod after its back-off (a pod deleted or
//     bound meanwhile is dropped). The informer's copy of the bound pod
//     replaces the assumed one.
//   - A pod that fits nowhere gets PodScheduled=False (reason
//     Unschedulable, the FitError message) — written only when it changes
//     — and a FailedScheduling event; a bound pod gets a Scheduled event.
//     Events go through client-go's recorder (internal/events), which
//     folds repeats into one Event with a count.
//   - Stats counts attempts, bindings, unschedulable decisions and
//     binding errors.
//
// Under several control-plane processes the shell runs under leader
// election (internal/leader, Lease navarch-scheduler); a fresh Shell per
// leadership term.
//
// # Callers' duties
//
// Serialise access: a Snapshot and a Scheduler are used from one goroutine.
// Feed the snapshot every node and pod event, including pods bound by
// others. Treat FitError as "retry when the cluster changes", with back-off.
package scheduler
