package reconciler

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/navarch/navarch/store"
)

// Committer commits store operations all or nothing; *store.Store is one.
// Txn returns the transaction's revision; store.ErrTooLarge means etcd
// refused its size, and the caller may split it.
type Committer interface {
	Txn(ctx context.Context, ops []store.Op) (int64, error)
}

var _ Committer = (*store.Store)(nil)

// ApplyResult says how a plan was written.
type ApplyResult struct {
	// Revision is the etcd revision of the (last) transaction; 0 when the
	// plan wrote nothing.
	Revision int64
	// Transactions is how many transactions the plan took: 1 normally,
	// more when it did not fit one and was applied in stages.
	Transactions int
	// Ops counts the store operations written.
	Ops int
}

// Staged reports whether the plan was applied in more than one
// transaction.
func (r ApplyResult) Staged() bool { return r.Transactions > 1 }

// admitted is one change with the store operations it needs.
type admitted struct {
	change Change
	ops    []store.Op
}

// Apply admits every change of plan with adm and, when adm refused none,
// commits them all with c (see commit). When adm refuses changes, their
// problems come back and nothing is written. Errors are those of the
// store (store.ErrConflict when an object changed since it was read) or
// of adm for other reasons than validation.
func Apply(ctx context.Context, adm Admitter, c Committer, plan *Plan) (ApplyResult, Problems, error) {
	changes, problems, err := admit(ctx, adm, plan)
	if err != nil || len(problems) > 0 {
		return ApplyResult{}, problems, err
	}
	res, err := commit(ctx, c, changes)
	return res, nil, err
}

// admit runs every change of plan through adm and returns the admitted
// changes, or the problems of those adm refused. Nothing is written.
func admit(ctx context.Context, adm Admitter, plan *Plan) ([]admitted, Problems, error) {
	out := make([]admitted, 0, len(plan.Changes))
	var problems Problems
	for _, c := range plan.Changes {
		ops, err := adm.Admit(ctx, c.Action, c.Resource, c.Object, c.Live)
		if err != nil {
			if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
				problems = append(problems, errorProblems(c.File, c.Key.String(), err)...)
				continue
			}
			return nil, nil, fmt.Errorf("admit %s: %w", c.Key, err)
		}
		out = append(out, admitted{change: c, ops: ops})
	}
	return out, problems, nil
}

// commit writes the admitted changes in one transaction or, when etcd
// refuses its size (store.ErrTooLarge), in stages: creates and updates
// rank by rank (namespaces, configuration, services, workloads, the rest),
// then deletes in the reverse order, each stage split further while it is
// still too large. Every update and delete carries the live object's
// resourceVersion as a precondition, so a change made meanwhile fails the
// transaction (store.ErrConflict) instead of being overwritten.
func commit(ctx context.Context, c Committer, changes []admitted) (ApplyResult, error) {
	var all []store.Op
	for _, a := range changes {
		all = append(all, a.ops...)
	}
	if len(all) == 0 {
		return ApplyResult{}, nil
	}
	rev, err := c.Txn(ctx, all)
	if err == nil {
		return ApplyResult{Revision: rev, Transactions: 1, Ops: len(all)}, nil
	}
	if !errors.Is(err, store.ErrTooLarge) {
		return ApplyResult{}, err
	}
	res := ApplyResult{}
	for _, stage := range stages(changes) {
		if err := commitSplit(ctx, c, stage, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// stages groups the ops of changes (already in plan order) by stage: one
// per rank of creates and updates, then one per rank of deletes.
func stages(changes []admitted) [][]store.Op {
	var out [][]store.Op
	last := ""
	for _, a := range changes {
		id := fmt.Sprintf("%t/%d", a.change.Action == ActionDelete, rank(a.change.Key.Kind))
		if id != last || len(out) == 0 {
			out = append(out, nil)
			last = id
		}
		out[len(out)-1] = append(out[len(out)-1], a.ops...)
	}
	return out
}

// commitSplit commits ops, halving them while etcd finds them too large.
func commitSplit(ctx context.Context, c Committer, ops []store.Op, res *ApplyResult) error {
	rev, err := c.Txn(ctx, ops)
	if err == nil {
		res.Revision, res.Ops = rev, res.Ops+len(ops)
		res.Transactions++
		return nil
	}
	if !errors.Is(err, store.ErrTooLarge) || len(ops) == 1 {
		return err
	}
	half := len(ops) / 2
	if err := commitSplit(ctx, c, ops[:half], res); err != nil {
		return err
	}
	return commitSplit(ctx, c, ops[half:], res)
}
