package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/navarch/navarch/internal/events"
)

// Defaults of ShellOptions, kube-scheduler's where it has them.
const (
	DefaultBindWorkers      = 32
	DefaultInitialBackoff   = time.Second
	DefaultMaxBackoff       = 10 * time.Second
	DefaultMaxUnschedulable = 5 * time.Minute
	flushPeriod             = time.Second
)

// ShellOptions configure the scheduler shell.
type ShellOptions struct {
	// Client talks to the API server. Required. Its rate limits bound
	// the binding throughput: give it a high QPS.
	Client kubernetes.Interface
	// SchedulerName is the spec.schedulerName this scheduler serves;
	// "" means default-scheduler. Events name it as their source.
	SchedulerName string
	// Core configures the decisions (New).
	Core Options
	// BindWorkers is how many bindings may be in flight at once.
	BindWorkers int
	// InitialBackoff and MaxBackoff bound the back-off of a pod whose
	// attempt failed: doubled per attempt from the initial to the max.
	InitialBackoff, MaxBackoff time.Duration
	// MaxUnschedulable is how long a pod that fit nowhere waits for a
	// cluster change before it is tried again anyway.
	MaxUnschedulable time.Duration
	// Logger receives the shell's logs; nil discards them.
	Logger *slog.Logger
	// Clock is the back-off clock; nil means the real one.
	Clock clock.WithTicker
}

func (o ShellOptions) withDefaults() ShellOptions {
	if o.SchedulerName == "" {
		o.SchedulerName = corev1.DefaultSchedulerName
	}
	if o.BindWorkers == 0 {
		o.BindWorkers = DefaultBindWorkers
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxUnschedulable == 0 {
		o.MaxUnschedulable = DefaultMaxUnschedulable
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// Validate reports missing or out-of-range options, wrapping
// ErrInvalidOptions.
func (o ShellOptions) Validate() error {
	if o.Client == nil {
		return fmt.Errorf("%w: a client is required", ErrInvalidOptions)
	}
	if o.BindWorkers < 0 || o.InitialBackoff < 0 || o.MaxBackoff < 0 || o.MaxUnschedulable < 0 {
		return fmt.Errorf("%w: negative bind workers or durations", ErrInvalidOptions)
	}
	d := o.withDefaults()
	if d.MaxBackoff < d.InitialBackoff {
		return fmt.Errorf("%w: max back-off %s below initial back-off %s", ErrInvalidOptions, d.MaxBackoff, d.InitialBackoff)
	}
	return o.Core.Validate()
}

// Stats count what the shell has done since it started.
type Stats struct {
	// Attempts is the number of scheduling decisions made.
	Attempts int64
	// Scheduled counts pods bound; Unschedulable counts decisions that
	// found no node; BindErrors counts bindings the API refused or failed.
	Scheduled, Unschedulable, BindErrors int64
}

// Shell is the running scheduler: informers keep one Snapshot current, a
// queue holds the pending pods, one goroutine decides, and bind workers
// write the decisions (see doc.go).
type Shell struct {
	opts  ShellOptions
	core  *Scheduler
	queue *schedulingQueue
	log   *slog.Logger

	mu      sync.Mutex // guards snap and assumed
	snap    *Snapshot
	assumed map[types.UID]*corev1.Pod

	recorder record.EventRecorder
	work     chan func(context.Context)

	attempts, scheduled, unschedulable, bindErrors atomic.Int64
}

// NewShell returns a scheduler shell, or an error wrapping
// ErrInvalidOptions.
func NewShell(opts ShellOptions) (*Shell, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	core, err := New(opts.Core)
	if err != nil {
		return nil, err
	}
	snap, _ := NewSnapshot(nil, nil)
	return &Shell{
		opts: opts,
		core: core,
		queue: newSchedulingQueue(queueOptions{
			initialBackoff:   opts.InitialBackoff,
			maxBackoff:       opts.MaxBackoff,
			maxUnschedulable: opts.MaxUnschedulable,
		}, opts.Clock),
		log:     opts.Logger.With("component", "scheduler"),
		snap:    snap,
		assumed: make(map[types.UID]*corev1.Pod),
		work:    make(chan func(context.Context), 4096),
	}, nil
}

// Stats returns the counters so far.
func (s *Shell) Stats() Stats {
	return Stats{
		Attempts:      s.attempts.Load(),
		Scheduled:     s.scheduled.Load(),
		Unschedulable: s.unschedulable.Load(),
		BindErrors:    s.bindErrors.Load(),
	}
}

// Run schedules until ctx ends, then returns nil once its goroutines have
// stopped. It fails when the informers cannot sync. A Shell runs once.
func (s *Shell) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.recorder = events.NewRecorder(ctx, s.opts.Client, s.opts.SchedulerName, s.log)
	factory := informers.NewSharedInformerFactory(s.opts.Client, 0)
	synced, err := s.addHandlers(factory)
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	// Wait until the handlers, not only the caches, have seen every node
	// and pod: a decision on a half-filled snapshot could overcommit.
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("scheduler: informers did not sync")
	}
	s.log.Info("scheduler started", "nodes", s.numNodes(), "scheduler", s.opts.SchedulerName)

	var wg sync.WaitGroup
	for i := 0; i < s.opts.BindWorkers; i++ {
		wg.Go(func() {
			for f := range s.work {
				f(ctx)
			}
		})
	}
	wg.Go(func() { s.flushLoop(ctx) })
	context.AfterFunc(ctx, s.queue.Close)
	for {
		qp, pod, ok := s.queue.Pop()
		if !ok {
			break
		}
		s.scheduleOne(qp, pod)
	}
	close(s.work)
	wg.Wait()
	return nil
}

func (s *Shell) flushLoop(ctx context.Context) {
	t := s.opts.Clock.NewTicker(flushPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			s.queue.Flush()
		}
	}
}

func (s *Shell) numNodes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.NumNodes()
}

// scheduleOne decides for one pod. On success the pod is assumed — added
// to the snapshot as bound — before the binding is written, so the next
// decision sees it without waiting for the API round trip.
func (s *Shell) scheduleOne(qp *queuedPod, pod *corev1.Pod) {
	if pod.DeletionTimestamp != nil || pod.Spec.NodeName != "" {
		s.queue.Done(qp)
		return
	}
	s.attempts.Add(1)
	s.mu.Lock()
	res, fe := s.core.Schedule(s.snap, pod)
	var err error
	if fe != nil {
		err = fe
	}
	var assumed *corev1.Pod
	if err == nil {
		assumed = pod.DeepCopy()
		assumed.Spec.NodeName = res.NodeName
		if err = s.snap.AddPod(assumed); err == nil {
			s.assumed[assumed.UID] = assumed
		}
	}
	s.mu.Unlock()
	switch {
	case errors.As(err, &fe) && fe.Err == nil:
		s.unschedulable.Add(1)
		s.queue.Unschedulable(qp)
		msg := fe.Error()
		s.log.Debug("pod unschedulable", "pod", qp.key, "reason", msg, "attempts", qp.attempts)
		s.work <- func(ctx context.Context) { s.markUnschedulable(ctx, pod, msg) }
	case err != nil:
		// A pod that cannot be parsed (a malformed selector validation
		// should have refused) waits like an unschedulable one.
		s.unschedulable.Add(1)
		s.queue.Unschedulable(qp)
		msg := err.Error()
		s.work <- func(ctx context.Context) { s.markUnschedulable(ctx, pod, msg) }
	default:
		s.work <- func(ctx context.Context) { s.bind(ctx, qp, assumed) }
	}
}
