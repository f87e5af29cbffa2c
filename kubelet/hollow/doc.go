// Package hollow runs many kubelets in one process on in-memory runtimes
// (kubelet/memruntime): hollow nodes for scale tests and benchmarks, as
// Kubernetes' kubemark does. Each hollow node registers its own Node,
// renews its own Lease and runs the pods bound to it, which turn Running
// and Ready at once or after Options.StartDelay; no process runs and no
// network is made.
//
// To stay cheap (a few hundred KiB of heap per node) the nodes share what
// can be shared: one client, one watch on all pods dispatched by
// spec.nodeName (kubelet.SharedPodSource), one Service informer; and
// they serve no ports and rotate no logs.
//
// Callers: `navarch hollow-nodes` and scale tests. The client must be an
// admin's: hollow nodes list every pod and write every hollow Node.
package hollow
