package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/apiserver/alloc"
	"github.com/navarch/navarch/store"
)

// Defaults of the Service networks.
const (
	// DefaultServiceCIDR is the range cluster IPs come from.
	DefaultServiceCIDR = alloc.DefaultServiceCIDR
	// DefaultNodePortRange is the range node ports come from.
	DefaultNodePortRange = alloc.DefaultNodePortRange
	// DefaultAllocationRepairInterval is how often the allocation keys are
	// reconciled with the Services (see alloc.Repair).
	DefaultAllocationRepairInterval = 10 * time.Minute
)

// repairGrace spares allocation keys younger than this from Repair:
// values taken outside a Service's own transaction for a Service not
// written yet.
const repairGrace = time.Minute

// allocationAttempts bounds how often a Service write is planned again
// when another writer takes one of its values between plan and commit.
const allocationAttempts = 8

// errAllocationRaced marks a Service write whose transaction failed
// because another writer took or changed one of its allocations between
// planning and commit: the write is planned again.
var errAllocationRaced = errors.New("service allocation raced with another writer")

// A Service's cluster IP and node ports come from package alloc, one etcd
// key per value, created only if absent in the same transaction that
// writes the Service, and deleted in the one that deletes it; several API
// servers on one etcd therefore never hand out a value twice. The flow of
// a write:
//
//   - admission (admitCreate, prepareUpdate) calls allocate, which plans the
//     allocations, fills in what the client left to the server and keeps
//     the plan on the request (rr.plan); a requested value taken or out of
//     range is 422 Invalid with Kubernetes' wording;
//   - the write commits the plan's ops with the Service (commitWithPlan,
//     deleteObject); a dry run commits nothing, so allocates nothing;
//   - when the transaction fails because another writer took a value
//     meanwhile (alloc.Raced), the write is admitted and planned again
//     from the request.

// allocate plans the allocations of a Service write — old is the stored
// Service of an update, nil on create — filling in svc's cluster IP and
// node ports where the client left them to the server, and keeps the plan
// on rr for the write to commit. Other kinds, and a Service's status,
// get no plan.
func (s *Server) allocate(rr *resourceRequest, obj, old runtime.Object) error {
	rr.plan = nil
	svc, ok := obj.(*corev1.Service)
	if !ok || rr.info.Subresource != "" {
		return nil
	}
	var opts []alloc.PlanOption
	if rr.batch {
		opts = append(opts, alloc.WithReservations(s.reservations))
	}
	var (
		plan *alloc.Plan
		err  error
	)
	if oldSvc, ok := old.(*corev1.Service); ok {
		plan, err = s.alloc.PlanUpdate(rr.ctx(), oldSvc, svc, opts...)
	} else {
		plan, err = s.alloc.PlanCreate(rr.ctx(), svc, opts...)
	}
	if err != nil {
		return allocationError(rr, svc.Name, err)
	}
	rr.plan = plan
	api.Default(svc)
	return nil
}

// allocationError turns a planning failure into the API's answer: 422
// for a refused request, 500 for a full range (as Kubernetes answers).
func allocationError(rr *resourceRequest, name string, err error) error {
	var inv *alloc.InvalidError
	if errors.As(err, &inv) {
		return apierrors.NewInvalid(rr.gk(), name, inv.Errs)
	}
	if errors.Is(err, alloc.ErrFull) {
		return apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP or nodePort: %w", err))
	}
	return storeError(err, rr.gr(), name)
}

// commitWithPlan stores obj at key — created when rv is 0, else updated
// at rv — together with plan's ops, in one transaction. A failure because
// another writer took or changed one of the plan's values is
// errAllocationRaced.
func (s *Server) commitWithPlan(ctx context.Context, key string, obj runtime.Object, rv int64, plan *alloc.Plan) error {
	op := store.Op{Type: store.OpCreate, Key: key, Object: obj}
	if rv != 0 {
		op = store.Op{Type: store.OpUpdate, Key: key, Object: obj, ResourceVersion: rv}
	}
	_, err := s.store.Txn(ctx, append([]store.Op{op}, plan.Ops...))
	if err != nil && s.alloc.Raced(ctx, plan, err) {
		return fmt.Errorf("%w: %w", errAllocationRaced, err)
	}
	return err
}

// deleteObject deletes cur, stored at key with resourceVersion rv, and
// fills out with its last state. A Service's allocations are released in
// the same transaction; a failure because one of them changed meanwhile
// is errAllocationRaced.
func (s *Server) deleteObject(ctx context.Context, key string, cur, out runtime.Object, rv int64) error {
	plan, err := s.releasePlan(ctx, cur)
	if err != nil {
		return err
	}
	if !plan.HasOps() {
		return s.store.Delete(ctx, key, out, rv)
	}
	ops := append([]store.Op{{Type: store.OpDelete, Key: key, ResourceVersion: rv, Object: out}}, plan.Ops...)
	_, err = s.store.Txn(ctx, ops)
	if err != nil && s.alloc.Raced(ctx, plan, err) {
		return fmt.Errorf("%w: %w", errAllocationRaced, err)
	}
	return err
}

// releasePlan plans the release of what obj, a Service being deleted,
// holds; nil for other kinds.
func (s *Server) releasePlan(ctx context.Context, obj runtime.Object) (*alloc.Plan, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	return s.alloc.PlanDelete(ctx, svc)
}

// errRaceRetries is the answer when a Service write lost the race for its
// values allocationAttempts times in a row.
func errRaceRetries(rr *resourceRequest, name string) error {
	return apierrors.NewConflict(rr.gr(), name, errors.New("the service's cluster IP or node ports were taken by concurrent writes; please try again"))
}

// repairAllocations runs alloc.Repair once, logging what it changed.
func (s *Server) repairAllocations(ctx context.Context) {
	res, err := s.alloc.Repair(ctx, repairGrace)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("repair of service allocations failed", "err", err)
		}
		return
	}
	if len(res.Created)+len(res.Released)+len(res.Conflicts) > 0 {
		s.log.Info("service allocations repaired", "created", res.Created, "released", res.Released, "conflicts", res.Conflicts)
	}
}

// repairLoop runs repairAllocations every Options.AllocationRepairInterval
// until ctx ends.
func (s *Server) repairLoop(ctx context.Context) {
	if s.opts.AllocationRepairInterval < 0 {
		return
	}
	t := time.NewTicker(s.opts.AllocationRepairInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.repairAllocations(ctx)
		}
	}
}

// ServiceCIDR returns the range the server takes cluster IPs from.
func (s *Server) ServiceCIDR() netip.Prefix { return s.alloc.ServiceCIDR() }

// NodePortRange returns the first and last node port the server hands out.
func (s *Server) NodePortRange() (first, last int32) { return s.alloc.NodePortRange() }

// planOps returns p's ops; none for a nil plan.
func planOps(p *alloc.Plan) []store.Op {
	if p == nil {
		return nil
	}
	return p.Ops
}
