package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// staleRetry is how soon a key whose reconcile met a conflict (it read a
// stale object) is looked at again.
const staleRetry = 50 * time.Millisecond

// Result tells the loop when to look at a key again when nothing else
// changes: RequeueAfter > 0 schedules one more reconcile then.
type Result struct {
	RequeueAfter time.Duration
}

// Reconciler converges one object, named by its key (namespace/name, or
// name for cluster-scoped objects), on what it declares. It reads current
// state, so running it twice is harmless; an error requeues the key with
// exponential back-off.
type Reconciler interface {
	Reconcile(ctx context.Context, key string) (Result, error)
}

// ReconcileFunc adapts a function to Reconciler.
type ReconcileFunc func(ctx context.Context, key string) (Result, error)

// Reconcile calls f.
func (f ReconcileFunc) Reconcile(ctx context.Context, key string) (Result, error) { return f(ctx, key) }

// loop is one controller's work: a rate-limited workqueue of keys and the
// workers that reconcile them. A key is never reconciled by two workers at
// once (the workqueue guarantees it).
type loop struct {
	name    string
	queue   workqueue.TypedRateLimitingInterface[string]
	r       Reconciler
	workers int
	log     *slog.Logger
}

func newLoop(name string, workers int, r Reconciler, log *slog.Logger) *loop {
	return &loop{
		name: name,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name}),
		r:       r,
		workers: workers,
		log:     log.With("controller", name),
	}
}

// add queues key.
func (l *loop) add(key string) { l.queue.Add(key) }

// addAfter queues key after d.
func (l *loop) addAfter(key string, d time.Duration) { l.queue.AddAfter(key, d) }

// addObject queues the key of obj (a tombstone is unwrapped).
func (l *loop) addObject(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		l.log.Warn("no key for object", "error", err)
		return
	}
	l.queue.Add(key)
}

// run starts the workers and blocks until ctx ends and they have stopped.
func (l *loop) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < l.workers; i++ {
		wg.Go(func() {
			for l.next(ctx) {
			}
		})
	}
	<-ctx.Done()
	l.queue.ShutDown()
	wg.Wait()
}

func (l *loop) next(ctx context.Context) bool {
	key, quit := l.queue.Get()
	if quit {
		return false
	}
	defer l.queue.Done(key)
	res, err := l.reconcile(ctx, key)
	switch {
	case ctx.Err() != nil:
	case err != nil && (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)):
		// A stale read: the informer brings the newer object (and the
		// key) soon. Look again shortly, without growing the back-off —
		// a busy object would otherwise wait seconds between passes.
		l.log.Debug("reconcile on stale state; retrying", "key", key, "error", err)
		l.queue.Forget(key)
		l.queue.AddAfter(key, staleRetry)
	case err != nil:
		l.log.Warn("reconcile failed; retrying", "key", key, "error", err)
		l.queue.AddRateLimited(key)
	default:
		l.queue.Forget(key)
		if res.RequeueAfter > 0 {
			l.queue.AddAfter(key, res.RequeueAfter)
		}
	}
	return true
}

// reconcile calls the reconciler, turning a panic into an error so one
// bad object does not stop the controller.
func (l *loop) reconcile(ctx context.Context, key string) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic reconciling %s: %v", key, p)
		}
	}()
	return l.r.Reconcile(ctx, key)
}
