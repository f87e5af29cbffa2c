package kubelet

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeLeaseNamespace holds the nodes' heartbeat Leases.
const NodeLeaseNamespace = "kube-node-lease"

// leaseLoop renews the node's Lease every LeaseRenewInterval, creating it
// when it is missing, until ctx ends.
func (k *Kubelet) leaseLoop(ctx context.Context) {
	var last *coordinationv1.Lease
	for {
		lease, err := k.renewLease(ctx, last)
		switch {
		case err == nil:
			last = lease
		case ctx.Err() == nil:
			k.log.Warn("renew node lease", "err", err)
			last = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(k.opts.LeaseRenewInterval):
		}
	}
}

// renewLease sets renewTime to now on base (read when nil, created when
// missing) and returns the stored Lease.
func (k *Kubelet) renewLease(ctx context.Context, base *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	leases := k.client.CoordinationV1().Leases(NodeLeaseNamespace)
	if base == nil {
		cur, err := leases.Get(ctx, k.opts.NodeName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return leases.Create(ctx, k.newLease(nil), metav1.CreateOptions{})
		case err != nil:
			return nil, err
		}
		base = cur
	}
	return leases.Update(ctx, k.newLease(base), metav1.UpdateOptions{})
}

// newLease is base (or a new Lease) held by the node, renewed now and
// owned by the Node so that it goes with it.
func (k *Kubelet) newLease(base *coordinationv1.Lease) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: k.opts.NodeName, Namespace: NodeLeaseNamespace}}
	if base != nil {
		l = base.DeepCopy()
	}
	now := metav1.NewMicroTime(k.opts.Now())
	l.Spec.HolderIdentity = &k.opts.NodeName
	l.Spec.LeaseDurationSeconds = ptrTo(int32(k.opts.LeaseDuration / time.Second))
	l.Spec.RenewTime = &now
	if uid := k.nodeUID.Load(); uid != nil && len(l.OwnerReferences) == 0 {
		l.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "Node", Name: k.opts.NodeName, UID: *uid,
		}}
	}
	return l
}
