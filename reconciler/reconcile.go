package reconciler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/store"
)

// Reconcile brings the Source key ("<namespace>/<name>") to its newest
// revision and returns when to look at it again (0: only on an event).
// It is driven by current state, not by the event that queued it, and is
// safe to run twice. Its steps, after Flux's source-controller:
//
//  1. read the Source; a missing one is not an error: its state is
//     forgotten;
//  2. defer the status write, so that every path below records what it did;
//  3. suspend: nothing more;
//  4. fetch when due (interval passed, a webhook, a file event, the
//     requestedAt annotation, a new spec); a failure leaves the applied
//     revision running and says why on Ready;
//  5. sync when the revision, the spec or a retry asks for it, and on
//     every poll (to put back what was changed by hand): parse and
//     validate the whole revision, plan against the store, apply in one
//     transaction;
//  6. health: Reconciling until the applied workloads are available or
//     their progress deadline passed, then Ready, with the history entry
//     and the commit-to-ready metric.
//
// An error (a store conflict, an unreachable API) is retried with back-off.
func (c *Controller) Reconcile(ctx context.Context, key string) (requeue time.Duration, err error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil // not a key: nothing to do
	}
	st := c.state(key)
	src, err := c.getSource(ctx, st, ns, name)
	if err != nil {
		return 0, err
	}
	if src == nil {
		c.forget(key)
		return 0, nil
	}
	api.Default(src)
	if src.DeletionTimestamp != nil {
		return 0, nil // objects stay; their owner label says whose they were
	}
	before := src.Status.DeepCopy()
	defer func() {
		if equality.Semantic.DeepEqual(before, &src.Status) {
			return
		}
		if werr := c.writeStatus(ctx, st, src); werr != nil && err == nil {
			err = werr
		}
	}()

	now := c.opts.Now()
	if src.Spec.Suspend {
		c.suspend(src, now)
		return 0, nil
	}
	src.Status.ObservedGeneration = src.Generation
	force := c.takeFetchNow(st)
	if v := src.Annotations[gitopsv1alpha1.AnnotationRequestedAt]; v != "" && v != src.Status.LastHandledRequestedAt {
		force = true
		src.Status.LastHandledRequestedAt = v
	}
	c.watchDir(key, src, st)
	interval := src.Spec.Interval.Duration

	art, fetched, err := c.fetchStep(ctx, key, src, st, force, now)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return 0, err
		}
		return c.nextPoll(st, interval), nil
	}
	if fetched || art.Revision != st.syncedRevision || src.Generation != st.syncedGeneration || st.resync {
		ok, err := c.syncStep(ctx, key, src, st, art, now)
		if err != nil || !ok {
			return c.nextPoll(st, interval), err
		}
	} else if newest := newestEntry(src); src.Status.LastAppliedRevision != art.Revision || newest == nil || newest.Revision != art.Revision {
		// The newest revision was refused; there is nothing to wait for.
		return c.nextPoll(st, interval), nil
	}
	return c.healthStep(ctx, key, src, st, interval)
}

// nextPoll is the time until the next fetch is due.
func (c *Controller) nextPoll(st *sourceState, interval time.Duration) time.Duration {
	d := interval - c.opts.Now().Sub(st.lastFetch)
	if d <= 0 {
		d = interval
	}
	return d
}

// suspend records that syncing is suspended; what is applied stays.
func (c *Controller) suspend(src *gitopsv1alpha1.Source, now time.Time) {
	msg := "syncing is suspended"
	if rev := src.Status.LastAppliedRevision; rev != "" {
		msg += "; revision " + rev + " stays applied"
	}
	ready := metav1.ConditionUnknown
	if cond := findCondition(src, gitopsv1alpha1.ConditionReady); cond != nil {
		ready = cond.Status
	}
	setCondition(src, gitopsv1alpha1.ConditionReady, ready, ReasonSuspended, msg, now)
	setCondition(src, gitopsv1alpha1.ConditionReconciling, metav1.ConditionFalse, ReasonSuspended, msg, now)
}

func findCondition(src *gitopsv1alpha1.Source, typ string) *metav1.Condition {
	for i := range src.Status.Conditions {
		if src.Status.Conditions[i].Type == typ {
			return &src.Status.Conditions[i]
		}
	}
	return nil
}

// fetchStep returns the newest artifact: fetched now when due (forced,
// none yet, a new generation of the spec, or the interval passed), else
// the one fetched before. A failed fetch is reported on the Ready
// condition, and again by every reconcile until a fetch succeeds, so that
// a look at the workloads in between does not mark the Source Ready.
func (c *Controller) fetchStep(ctx context.Context, key string, src *gitopsv1alpha1.Source, st *sourceState, force bool, now time.Time) (*Artifact, bool, error) {
	due := force || st.artifact == nil || src.Generation != st.fetchedGeneration ||
		now.Sub(st.lastFetch) >= src.Spec.Interval.Duration
	if !due {
		if st.fetchErr != nil {
			markFetchFailed(src, st.fetchErr, now)
			return nil, false, st.fetchErr
		}
		return st.artifact, false, nil
	}
	c.log.Debug("fetching", "source", key)
	fctx, cancel := context.WithTimeout(ctx, src.Spec.Timeout.Duration)
	defer cancel()
	creds, err := Credentials(fctx, c.kube, src)
	var art *Artifact
	if err == nil {
		art, err = Fetch(fctx, c.git, src, creds, st.artifact)
	}
	if err != nil && ctx.Err() != nil {
		return nil, false, ctx.Err()
	}
	st.lastFetch, st.fetchedGeneration, st.fetchErr = now, src.Generation, err
	if err != nil {
		markFetchFailed(src, err, now)
		c.log.Warn("fetch failed", "source", key, "error", err)
		return nil, false, err
	}
	if src.Spec.Git != nil {
		st.url = src.Spec.Git.URL
	}
	st.artifact = art
	src.Status.LastAttemptedRevision = art.Revision
	c.log.Debug("fetched", "source", key, "revision", art.Revision, "files", len(art.Files))
	return art, true, nil
}

// markFetchFailed says on the Ready condition why the fetch failed, and
// that the applied revision keeps running.
func markFetchFailed(src *gitopsv1alpha1.Source, err error, now time.Time) {
	msg := "fetch failed: " + err.Error()
	if rev := src.Status.LastAppliedRevision; rev != "" {
		msg += "; revision " + rev + " stays applied"
	}
	markFailed(src, fetchReason(err), msg, false, now)
}

// syncStep parses, validates, plans and applies art. ok is false when
// the revision was refused (the status says why).
func (c *Controller) syncStep(ctx context.Context, key string, src *gitopsv1alpha1.Source, st *sourceState, art *Artifact, now time.Time) (ok bool, err error) {
	start := time.Now()
	log := c.log.With("source", key, "revision", art.Revision)
	objs, problems := st.desired(art, src.Spec.TargetNamespace)
	var plan Plan
	if len(problems) == 0 {
		if plan, err = PlanSync(ctx, c.live, src, objs); err != nil {
			return false, err
		}
		problems = plan.Problems
	}
	var res ApplyResult
	if len(problems) == 0 {
		created, updated, deleted := plan.Counts()
		log.Debug("applying", "create", created, "update", updated, "delete", deleted, "planned", time.Since(start))
		res, problems, err = Apply(ctx, c.opts.Admitter, c.opts.Store, &plan)
		if err != nil {
			st.resync = true
			msg := fmt.Sprintf("apply revision %s failed: %v", art.Revision, err)
			markFailed(src, ReasonApplyFailed, msg, false, now)
			c.metrics.syncs.WithLabelValues(key, "failed").Inc()
			if apierrors.IsConflict(err) || isStoreConflict(err) {
				return false, fmt.Errorf("%s (objects changed meanwhile; planning again)", msg)
			}
			return false, errors.New(msg)
		}
	}
	st.resync = false
	st.syncedRevision, st.syncedGeneration = art.Revision, src.Generation
	if len(problems) > 0 {
		c.refuse(src, art, problems, now)
		c.metrics.syncs.WithLabelValues(key, "invalid").Inc()
		log.Warn("revision refused", "problems", len(problems))
		return false, nil
	}
	c.recordApply(src, art, &plan, res, now)
	result := "unchanged"
	if res.Ops > 0 {
		result = "applied"
		c.metrics.syncDuration.WithLabelValues(key).Observe(time.Since(start).Seconds())
		created, updated, deleted := plan.Counts()
		log.Info("revision applied", "created", created, "updated", updated, "pruned", deleted,
			"transactions", res.Transactions, "etcdRevision", res.Revision, "duration", time.Since(start))
	}
	c.metrics.syncs.WithLabelValues(key, result).Inc()
	return true, nil
}

// refuse records an invalid revision: nothing of it was applied.
func (c *Controller) refuse(src *gitopsv1alpha1.Source, art *Artifact, problems Problems, now time.Time) {
	src.Status.Errors = problems.Strings()
	msg := problems.Summary()
	if rev := src.Status.LastAppliedRevision; rev != "" {
		msg += "; revision " + rev + " stays applied"
	}
	markFailed(src, ReasonValidationFailed, msg, true, now)
	if e := newestEntry(src); e != nil && e.Revision == art.Revision && e.Result == ResultInvalid {
		return
	}
	e := historyEntry(art, ResultInvalid)
	e.Message = problems.Summary()
	pushHistory(src, e)
}

// recordApply records a revision written (or found already in place).
func (c *Controller) recordApply(src *gitopsv1alpha1.Source, art *Artifact, plan *Plan, res ApplyResult, now time.Time) {
	src.Status.Errors = nil
	src.Status.Inventory = plan.Inventory
	created, updated, deleted := plan.Counts()
	newest := newestEntry(src)
	if src.Status.LastAppliedRevision == art.Revision && newest != nil && newest.Revision == art.Revision {
		if res.Ops > 0 {
			c.log.Info("put back objects changed by hand", "source", SourceKey(src.Namespace, src.Name),
				"created", created, "updated", updated, "pruned", deleted)
		}
		return
	}
	if newest != nil && newest.Result == ResultApplied {
		newest.Result = ResultSuperseded
		newest.Message = "revision " + art.Revision + " was applied before this one was ready"
	}
	e := historyEntry(art, ResultApplied)
	t := mtime(now)
	e.AppliedAt = &t
	e.Created, e.Updated, e.Pruned = created, updated, deleted
	if res.Staged() {
		e.Message = fmt.Sprintf("applied in %d transactions: the revision is larger than one etcd transaction", res.Transactions)
	}
	pushHistory(src, e)
	src.Status.LastAppliedRevision = art.Revision
}

// healthStep waits for the applied revision's workloads, then marks the
// Source Ready.
func (c *Controller) healthStep(ctx context.Context, key string, src *gitopsv1alpha1.Source, st *sourceState, interval time.Duration) (time.Duration, error) {
	now := c.opts.Now()
	var hs []Health
	for _, e := range src.Status.Inventory {
		k := KeyOfEntry(e)
		if !isWorkload(k) {
			continue
		}
		res, _ := resourceOf(k)
		obj := res.New()
		err := c.opts.Store.Get(ctx, res.StorageKey(k.Namespace, k.Name), obj)
		if isStoreNotFound(err) {
			obj = nil
		} else if err != nil {
			return 0, fmt.Errorf("read %s: %w", k, err)
		}
		hs = append(hs, HealthOf(k, obj))
	}
	sum := Summarize(hs)
	entry := newestEntry(src)
	rev := src.Status.LastAppliedRevision
	base := "revision " + rev + " applied"
	if entry != nil && entry.Message != "" && entry.Result == ResultApplied {
		base += " (" + entry.Message + ")"
	}
	var appliedAt time.Time
	if entry != nil && entry.AppliedAt != nil {
		appliedAt = entry.AppliedAt.Time
	}
	switch {
	case len(sum.Failed) > 0 || len(sum.Waiting) > 0 && !appliedAt.IsZero() && now.Sub(appliedAt) > sum.Deadline:
		msg := base + ": " + sum.String()
		if len(sum.Failed) == 0 {
			msg = fmt.Sprintf("%s: not available within the progress deadline of %s: %s", base, sum.Deadline, sum.String())
		}
		if entry != nil && entry.Result == ResultApplied {
			entry.Result, entry.Message = ResultFailed, msg
		}
		markFailed(src, ReasonDeadlineExceeded, msg, false, now)
		return c.nextPoll(st, interval), nil
	case len(sum.Waiting) > 0:
		markProgressing(src, base+": "+sum.String(), now)
		return c.opts.HealthPoll, nil
	}
	if entry != nil && entry.Result == ResultApplied {
		t := mtime(now)
		entry.ReadyAt, entry.Result = &t, ResultReady
		if entry.CommitTime != nil {
			secs := now.Sub(entry.CommitTime.Time).Seconds()
			c.metrics.commitToReady.WithLabelValues(key).Observe(secs)
			rounded := math.Round(secs*1000) / 1000
			entry.CommitToReadySeconds = &rounded
		}
	}
	markReady(src, base+": "+sum.String(), now)
	return c.nextPoll(st, interval), nil
}

// getSource returns the Source from the informer's cache or, when the
// cache has not yet seen the controller's own last status write, from the
// API server, so that a reconcile never builds on a status older than the
// one it wrote. A missing Source is nil.
func (c *Controller) getSource(ctx context.Context, st *sourceState, ns, name string) (*gitopsv1alpha1.Source, error) {
	obj, exists, err := c.informer.GetStore().GetByKey(SourceKey(ns, name))
	if err != nil {
		return nil, err
	}
	if exists {
		src := obj.(*gitopsv1alpha1.Source)
		if rv, _ := store.ParseResourceVersion(src.ResourceVersion); rv >= c.writtenRV(st) {
			return src.DeepCopy(), nil
		}
	}
	src, err := c.sources.Get(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read source: %w", err)
	}
	return src, nil
}

// writeStatus stores src's status through the status subresource, with
// src's resourceVersion as the precondition: a conflict means the status
// was computed from an old Source, and the reconcile is retried.
func (c *Controller) writeStatus(ctx context.Context, st *sourceState, src *gitopsv1alpha1.Source) error {
	out, err := c.sources.UpdateStatus(ctx, src)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	rv, _ := store.ParseResourceVersion(out.ResourceVersion)
	c.mu.Lock()
	st.writtenRV = rv
	c.mu.Unlock()
	return nil
}

func (c *Controller) writtenRV(st *sourceState) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return st.writtenRV
}

func isStoreConflict(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrNotFound)
}

func isStoreNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
