package kubelet

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// podWorkers runs one goroutine per pod (known from the API or found in
// the runtime) that converges the pod's containers to its spec. Events —
// the pod changed, a container changed state, a probe result changed, a
// back-off expired — wake the pod's worker; a wake during a sync makes
// one more sync follow.
type podWorkers struct {
	k *Kubelet

	mu      sync.Mutex
	byUID   map[types.UID]*podWorker
	ctx     context.Context // nil until start
	wg      sync.WaitGroup
	stopped bool
}

// podWorker is one pod's worker. Fields under mu are written by event
// handlers; the rest belongs to the worker goroutine.
type podWorker struct {
	uid  types.UID
	wake chan struct{}

	mu         sync.Mutex
	pod        *corev1.Pod // latest from the API; nil when only the runtime knows it
	gone       bool        // deleted from the API (or never there)
	lastStatus *corev1.PodStatus

	// owned by the worker goroutine
	reasons   map[string]waitReason // why a container is waiting, by name
	crash     *backoff              // by container name
	images    *backoff              // by image
	imageErrs map[string]string     // the last pull error, by image
	volumesAt time.Time             // when configMap/secret volumes were last written
	deleteAt  time.Time             // when the API delete of a finished pod was last tried
	seen      time.Time             // when the worker first saw the pod
	// startRecorded: the pod's start latency was observed.
	startRecorded bool
}

// waitReason is why a container is waiting (ErrImagePull, CrashLoopBackOff …).
type waitReason struct {
	Reason, Message string
}

func newPodWorkers(k *Kubelet) *podWorkers {
	return &podWorkers{k: k, byUID: map[types.UID]*podWorker{}}
}

// PodUpdated implements PodHandler.
// An update that comes after the workers stopped (the kubelet is
// shutting down while the shared watch still delivers) is dropped.
func (p *podWorkers) PodUpdated(pod *corev1.Pod) {
	w := p.get(pod.UID, true)
	if w == nil {
		return
	}
	w.mu.Lock()
	w.pod, w.gone = pod, false
	w.mu.Unlock()
	w.poke()
}

// PodDeleted implements PodHandler.
func (p *podWorkers) PodDeleted(pod *corev1.Pod) {
	w := p.get(pod.UID, false)
	if w == nil {
		return
	}
	w.mu.Lock()
	w.gone = true
	if w.pod == nil {
		w.pod = pod
	}
	w.mu.Unlock()
	w.poke()
}

// orphan makes sure a pod found only in the runtime has a worker, which
// will kill and remove it; after the workers stopped it does nothing.
func (p *podWorkers) orphan(uid types.UID) {
	w := p.get(uid, true)
	if w == nil {
		return
	}
	w.mu.Lock()
	if w.pod == nil {
		w.gone = true
	}
	w.mu.Unlock()
	w.poke()
}

// poke wakes the worker of uid, if any.
func (p *podWorkers) poke(uid types.UID) {
	if w := p.get(uid, false); w != nil {
		w.poke()
	}
}

// get returns the worker of uid, creating (and, once started, running)
// it when create is set.
func (p *podWorkers) get(uid types.UID, create bool) *podWorker {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.byUID[uid]
	if w != nil || !create || p.stopped {
		return w
	}
	w = &podWorker{
		uid: uid, wake: make(chan struct{}, 1), reasons: map[string]waitReason{}, imageErrs: map[string]string{},
		crash:  newBackoff(p.k.opts.Backoff, true),
		images: newBackoff(p.k.opts.Backoff, false),
		seen:   p.k.opts.Now(),
	}
	p.byUID[uid] = w
	if p.ctx != nil {
		p.launch(w)
	}
	return w
}

// start runs the workers of the pods known so far, and every later one.
func (p *podWorkers) start(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctx = ctx
	for _, w := range p.byUID {
		p.launch(w)
	}
}

// launch runs w's goroutine; the caller holds p.mu.
func (p *podWorkers) launch(w *podWorker) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.run(p.ctx, w)
	}()
}

// wait returns once every worker goroutine has ended (after ctx ended).
func (p *podWorkers) wait() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *podWorkers) run(ctx context.Context, w *podWorker) {
	// With Go 1.23 timers, Reset after Stop never delivers a stale tick.
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		res := p.k.syncPod(ctx, w)
		if ctx.Err() != nil {
			return
		}
		if res.done && p.retire(w) {
			return
		}
		next := p.k.opts.SyncPeriod
		if res.requeue > 0 && res.requeue < next {
			next = res.requeue
		}
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// retire removes a finished worker unless its pod came back meanwhile.
func (p *podWorkers) retire(w *podWorker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.gone {
		return false
	}
	delete(p.byUID, w.uid)
	return true
}

func (w *podWorker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// snapshot returns the pod and whether it is gone from the API.
func (w *podWorker) snapshot() (*corev1.Pod, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod, w.gone
}

// lastStatus returns the status last computed for uid, or nil.
func (p *podWorkers) lastStatus(uid types.UID) *corev1.PodStatus {
	w := p.get(uid, false)
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastStatus
}

// uids lists the pods that have workers.
func (p *podWorkers) uids() map[types.UID]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[types.UID]bool, len(p.byUID))
	for uid := range p.byUID {
		out[uid] = true
	}
	return out
}
