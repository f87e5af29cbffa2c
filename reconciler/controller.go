package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/sources/git"
	"github.com/navarch/navarch/sources/webhook"
)

// Controller keeps every Source's revision applied. Create it with New,
// mount WebhookHandler, register its metrics with Register, and call Run
// (under leader election when several servers share a store).
type Controller struct {
	opts     Options
	log      *slog.Logger
	sources  *SourceClient
	kube     kubernetes.Interface
	git      *git.Cache
	live     LiveReader
	metrics  *Metrics
	dedupe   *webhook.Deduper
	queue    workqueue.TypedRateLimitingInterface[string]
	informer cache.SharedIndexInformer

	running atomic.Bool
	runOnce sync.Once

	mu     sync.Mutex
	states map[string]*sourceState
	runCtx context.Context
}

// sourceState is what the controller remembers of one Source between
// reconciles: the last artifact fetched, when, and the triggers pending.
type sourceState struct {
	// fetchNow asks the next reconcile to fetch, whatever the interval
	// (a webhook, a directory event).
	fetchNow bool
	// lastFetch is when the last fetch ran, for the generation
	// fetchedGeneration of the spec; fetchErr is its failure, which the
	// Source reports until a fetch succeeds. artifact is the newest
	// revision fetched.
	lastFetch         time.Time
	fetchedGeneration int64
	fetchErr          error
	artifact          *Artifact
	// syncedGeneration and syncedRevision are what the last sync acted on;
	// resync asks for another sync though both are unchanged.
	syncedGeneration int64
	syncedRevision   string
	resync           bool
	// writtenRV is the resourceVersion of the controller's last status
	// write: an informer copy older than it is not used.
	writtenRV int64
	// url is the Git URL fetched, for removing its clone.
	url string
	// parsed is the artifact last parsed and validated, for the target
	// namespace parsedNS; objects and problems are its result. A re-sync
	// of the same revision plans from them again without parsing.
	parsed   *Artifact
	parsedNS string
	objects  []*Object
	problems Problems
	// dir watch of a directory Source.
	dirPath   string
	dirCancel context.CancelFunc
}

// New returns a Controller; nothing runs until Run. It fails on invalid
// options or an unusable client configuration.
func New(opts Options) (*Controller, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("reconciler options: %w", err)
	}
	sc, err := NewSourceClient(opts.Config)
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("reconciler client: %w", err)
	}
	clones := opts.GitCache
	if clones == nil {
		if clones, err = git.New(git.Options{Dir: GitCacheDir(opts.DataDir), Now: opts.Now}); err != nil {
			return nil, err
		}
	}
	c := &Controller{
		opts: opts, log: opts.Logger, sources: sc, kube: kube, git: clones,
		live: StoreReader{Store: opts.Store}, metrics: NewMetrics(),
		dedupe: webhook.NewDeduper(0), states: map[string]*sourceState{},
	}
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, opts.MaxRetryDelay),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "sources"})
	c.informer = cache.NewSharedIndexInformer(sc.listWatch(), &gitopsv1alpha1.Source{}, 0, cache.Indexers{})
	return c, nil
}

// Register registers the controller's metrics
// (navarch_source_commit_to_ready_seconds …) on reg, the API server's
// registry, so that its /metrics shows them.
func (c *Controller) Register(reg prometheus.Registerer) error {
	return c.metrics.Register(reg)
}

// Run watches Sources and syncs them until ctx ends, with opts.Workers
// Sources at a time and one worker per Source. It returns nil when ctx
// ends; it may be called once. With several servers, the caller runs it
// only while it holds the leadership.
func (c *Controller) Run(ctx context.Context) error {
	err := errors.New("reconciler: Run called twice")
	c.runOnce.Do(func() { err = c.run(ctx) })
	return err
}

func (c *Controller) run(ctx context.Context) error {
	defer c.queue.ShutDown()
	c.mu.Lock()
	c.runCtx = ctx
	c.mu.Unlock()
	if _, err := c.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueObject(obj) },
		UpdateFunc: c.sourceUpdated,
		DeleteFunc: func(obj any) { c.enqueueObject(obj) },
	}); err != nil {
		return err
	}
	workloads := informers.NewSharedInformerFactoryWithOptions(c.kube, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = gitopsv1alpha1.LabelSource }))
	if _, err := workloads.Apps().V1().Deployments().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { c.enqueueOwner(obj) },
		DeleteFunc: c.enqueueOwner,
	}); err != nil {
		return err
	}
	go c.informer.RunWithContext(ctx)
	workloads.Start(ctx.Done())
	defer workloads.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced) {
		return nil // ctx ended
	}
	c.running.Store(true)
	defer c.running.Store(false)
	c.log.Info("reconciler started", "workers", c.opts.Workers)
	var wg sync.WaitGroup
	for i := 0; i < c.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, c.worker, time.Second)
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	c.stopDirWatches()
	c.log.Info("reconciler stopped")
	return nil
}

// Running reports whether Run is syncing (its caches are filled).
func (c *Controller) Running() bool { return c.running.Load() }

// Trigger asks for a fetch and sync of the Source key at once, whatever
// its interval. Triggers that arrive while the Source syncs make one more
// sync after it, of the newest revision.
func (c *Controller) Trigger(key string) {
	c.mu.Lock()
	c.stateLocked(key).fetchNow = true
	c.mu.Unlock()
	c.queue.Add(key)
}

func (c *Controller) enqueueObject(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err == nil {
		c.queue.Add(key)
	}
}

// sourceUpdated enqueues a Source whose spec, metadata or deletion
// changed; status-only updates (the controller's own) are ignored.
func (c *Controller) sourceUpdated(oldObj, newObj any) {
	o, ok1 := oldObj.(*gitopsv1alpha1.Source)
	n, ok2 := newObj.(*gitopsv1alpha1.Source)
	if ok1 && ok2 && o.Generation == n.Generation &&
		o.Annotations[gitopsv1alpha1.AnnotationRequestedAt] == n.Annotations[gitopsv1alpha1.AnnotationRequestedAt] &&
		o.DeletionTimestamp.Equal(n.DeletionTimestamp) {
		return
	}
	c.enqueueObject(newObj)
}

// enqueueOwner enqueues the Source owning a workload that changed.
func (c *Controller) enqueueOwner(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if d, ok := obj.(*appsv1.Deployment); ok {
		if owner := d.Annotations[gitopsv1alpha1.AnnotationSource]; owner != "" {
			c.queue.Add(owner)
		}
	}
}

func (c *Controller) worker(ctx context.Context) {
	for c.processNext(ctx) {
	}
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	log := c.log.With("source", key)
	after, err := c.Reconcile(ctx, key)
	switch {
	case err != nil && ctx.Err() == nil && apierrors.IsConflict(err):
		// The Source changed while it synced (a sync request, an edit):
		// the status was computed from an old copy. Expected; sync again.
		log.Debug("source changed during the sync; syncing again", "error", err)
		c.queue.AddRateLimited(key)
	case err != nil && ctx.Err() == nil:
		log.Warn("sync failed; retrying", "error", err)
		c.queue.AddRateLimited(key)
	case err == nil:
		c.queue.Forget(key)
		if after > 0 {
			c.queue.AddAfter(key, after)
		}
	}
	return true
}

// state returns the remembered state of key, creating it.
func (c *Controller) state(key string) *sourceState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateLocked(key)
}

func (c *Controller) stateLocked(key string) *sourceState {
	st, ok := c.states[key]
	if !ok {
		st = &sourceState{}
		c.states[key] = st
	}
	return st
}

// takeFetchNow reads and clears the pending fetch trigger of st.
func (c *Controller) takeFetchNow(st *sourceState) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := st.fetchNow
	st.fetchNow = false
	return v
}

// forget drops what is remembered of a deleted Source, stops its
// directory watch, and removes its Git clone when no other Source uses
// the URL.
func (c *Controller) forget(key string) {
	url := ""
	c.mu.Lock()
	if st, ok := c.states[key]; ok {
		if st.dirCancel != nil {
			st.dirCancel()
		}
		url = st.url
		delete(c.states, key)
	}
	c.mu.Unlock()
	if url == "" {
		return
	}
	for _, obj := range c.informer.GetStore().List() {
		if s, ok := obj.(*gitopsv1alpha1.Source); ok && s.Spec.Git != nil && s.Spec.Git.URL == url {
			return
		}
	}
	if err := c.git.Forget(url); err != nil {
		c.log.Warn("remove clone of a deleted source", "source", key, "error", err)
	}
}

// desired returns the validated objects of art (Parse and Validate),
// computed once per artifact and target namespace. Callers must not change
// the objects.
func (st *sourceState) desired(art *Artifact, targetNamespace string) ([]*Object, Problems) {
	if st.parsed != art || st.parsedNS != targetNamespace {
		objs, problems := Desired(art.Files, targetNamespace)
		st.parsed, st.parsedNS, st.objects, st.problems = art, targetNamespace, objs, problems
	}
	return st.objects, st.problems
}
