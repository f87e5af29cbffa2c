// Package alloc hands out Service cluster IPs and node ports, and keeps
// every allocation in etcd so that no address or port is ever held twice:
// not by concurrent requests, not by several API servers sharing one etcd,
// not after a restart.
//
// # Storage: one key per allocation
//
// Each allocated value is one key, created only if absent:
//
//	/registry/ranges/serviceips/<ip>         e.g. /registry/ranges/serviceips/10.96.0.10
//	/registry/ranges/servicenodeports/<port> e.g. /registry/ranges/servicenodeports/30080
//
// The value is a core/v1 RangeAllocation named after the address or port,
// in the owning Service's namespace, with an ownerReference to the Service
// (its uid is what identifies the owner) and the range it was taken from.
// etcd's create-if-absent compare is the lock: of two writers wanting one
// value, exactly one transaction commits. Kubernetes keeps one bitmap per
// range instead; a key per value lets the allocation ride in the same
// transaction as the Service write without serialising every Service
// write on one key.
//
// # The transaction path
//
// The API server plans the allocations of a Service write and adds the
// plan's ops to the transaction that writes the Service:
//
//	want := svc.DeepCopy() // the request as admitted, to plan again from
//	for attempt := 0; ; attempt++ {
//		svc = want.DeepCopy()
//		plan, err := a.PlanCreate(ctx, svc) // fills spec.clusterIP(s), nodePorts
//		// err: *InvalidError → 422 with its field errors; ErrFull → 500
//		ops := append([]store.Op{{Type: store.OpCreate, Key: key, Object: svc}}, plan.Ops...)
//		_, err = st.Txn(ctx, ops)
//		if a.Raced(ctx, plan, err) && attempt < 3 {
//			continue // another writer took a value between plan and commit
//		}
//		...
//	}
//
// PlanUpdate(old, svc) allocates what svc holds and old did not, and
// releases what old held and svc does not; PlanDelete(svc) releases all
// that svc holds. A plan only reads; nothing changes until the caller's
// transaction commits, so a dry run simply skips the transaction, and a
// failed transaction leaves no trace. Releases are deletes conditioned on
// the allocation's resourceVersion and only touch keys owned by the
// Service's uid, so releasing never frees a value someone else holds.
//
// A writer that plans several Services before committing them together
// (the API server's Admit, for a GitOps revision) passes
// WithReservations: values planned for one Service of the batch are then
// neither drawn for nor granted to another for a minute, whereas etcd
// alone would only tell them apart at commit.
//
// The simple path, for callers without a transaction of their own:
// AllocateService and ReleaseService (plan and commit the plan's ops
// alone), and AllocateIP/ReleaseIP, AllocateNodePort/ReleaseNodePort for
// single values.
//
// # Choosing a value
//
// A requested value is honoured when it lies in the range and is free (or
// already held by the same Service). Otherwise a value is drawn at random,
// as Kubernetes does, from the upper part of the range first (Kubernetes'
// static/dynamic split: the lower band — 1/16 of a Service CIDR, at least
// 16 and at most 256 addresses; 1/32 of the node port range, at least 16
// and at most 128 ports — is left for values users ask for), checked with a
// read; after a few taken draws it scans the whole range for a free value,
// and reports ErrFull when there is none.
//
// The first address of the Service CIDR (10.96.0.1 in 10.96.0.0/12) is
// never drawn: it belongs to the `kubernetes` Service, which asks for it
// (KubernetesServiceIP). The network and broadcast addresses are never
// handed out at all.
//
// # Errors
//
// A Service asking for a taken or out-of-range value gets an *InvalidError
// whose field errors carry Kubernetes' wording on spec.clusterIP or
// spec.ports[i].nodePort ("provided IP is already allocated", "provided IP
// is not in the valid range. The range of valid IPs is 10.96.0.0/12",
// "provided port is already allocated", …): the API server answers 422
// Invalid with them. It matches ErrAllocated or ErrNotInRange with
// errors.Is. ErrFull means the range has no free value left (Kubernetes
// answers 500). Other errors come from the store.
//
// # Repair
//
// Repair reconciles the keys with the Services: it creates the keys of
// values Services hold without one (Services written before the allocator
// ran) and deletes keys whose owner no longer holds the value (after a
// grace period that spares simple-path allocations whose Service is not
// written yet), and reports values two Services claim. Because a Service
// and its allocations are written in one transaction, a leaked key only
// comes from writes outside this package; the API server may run Repair
// at start.
package alloc
