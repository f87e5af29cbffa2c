// Package leader runs a piece of work in one process at a time among
// several: client-go leader election over a coordination.k8s.io Lease.
//
// navarch's control-plane loops (scheduler, controller manager, GitOps
// reconciler) each run under their own Lease in kube-system, so that any
// number of `navarch server` processes on one etcd cluster act as one:
//
//	err := leader.Run(ctx, clientset, "navarch-scheduler", identity,
//		func(ctx context.Context) { sched.Run(ctx) })
//
// Run campaigns for the Lease and calls the work with a context that ends
// when leadership is lost or ctx ends; it waits for the work to return, then
// campaigns again (a process that lost its Lease — a long pause, a
// partition — rejoins as a candidate instead of exiting). When ctx ends the
// Lease is released at once, so a graceful shutdown hands over without
// waiting for the Lease to expire; a killed process's Lease is taken over
// after Options.LeaseDuration.
//
// # Callers' duties
//
// The work must return promptly when its context ends: until it has, a
// released Lease could let two processes act at once. Identities must be
// unique per process (host name plus a random suffix is the usual choice;
// Identity builds one). The client needs get, create and update on leases
// in kube-system.
package leader
