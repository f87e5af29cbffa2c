package scheduler

import (
	"container/heap"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/clock"
)

// Where a pod waits in the scheduling queue, as in kube-scheduler's
// PriorityQueue: activeQ (ready to try), backoffQ (failed recently, waits
// its back-off), unschedulablePods (failed, waits for a cluster change
// that could help), or in flight (popped, being scheduled or bound).
const (
	inActive = iota
	inBackoff
	inUnschedulable
	inFlight
)

// queuedPod is a pending pod and its scheduling history.
type queuedPod struct {
	pod      *corev1.Pod
	key      string // namespace/name
	attempts int
	// added orders activeQ among pods of equal priority.
	added time.Time
	// backoffUntil is when a failed pod may be tried again.
	backoffUntil time.Time
	// failed is when its last attempt failed; back-off counts from it.
	failed time.Time
	where  int
	// cycle is the scheduling cycle in which it was last popped.
	cycle int64
	index int // position in its heap
}

// queueOptions tune back-off and flushing; see ShellOptions.
type queueOptions struct {
	initialBackoff   time.Duration
	maxBackoff       time.Duration
	maxUnschedulable time.Duration
}

// schedulingQueue holds the pods waiting for a node. Pop blocks until one
// is ready. A pod that fit nowhere waits in unschedulablePods until a
// cluster event that could help (MoveAll) or until maxUnschedulable has
// passed (flush), then serves its back-off in backoffQ; so a pod that can
// never fit is tried once per flush, not in a loop. Safe for concurrent use.
type schedulingQueue struct {
	opts  queueOptions
	clock clock.Clock

	mu            sync.Mutex
	cond          *sync.Cond
	pods          map[string]*queuedPod
	active        podHeap
	backoff       podHeap
	unschedulable map[string]*queuedPod
	// schedulingCycle counts Pops; moveRequestCycle is the cycle of the
	// last MoveAll. A pod that fails in a cycle at or before the last move
	// request goes to backoffQ, not unschedulablePods: the change it might
	// have missed happened while it was in flight.
	schedulingCycle  int64
	moveRequestCycle int64
	closed           bool
}

func newSchedulingQueue(opts queueOptions, clk clock.Clock) *schedulingQueue {
	q := &schedulingQueue{
		opts:             opts,
		clock:            clk,
		pods:             make(map[string]*queuedPod),
		active:           podHeap{less: activeLess},
		backoff:          podHeap{less: backoffLess},
		unschedulable:    make(map[string]*queuedPod),
		moveRequestCycle: -1,
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func activeLess(a, b *queuedPod) bool {
	pa, pb := priority(a.pod), priority(b.pod)
	if pa != pb {
		return pa > pb
	}
	return a.added.Before(b.added)
}

func backoffLess(a, b *queuedPod) bool { return a.backoffUntil.Before(b.backoffUntil) }

func priority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

func keyOf(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

// Add queues a new pending pod, or updates the one queued under its key.
func (q *schedulingQueue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if qp, ok := q.pods[keyOf(pod)]; ok {
		q.updateLocked(qp, pod)
		return
	}
	qp := &queuedPod{pod: pod, key: keyOf(pod), added: q.clock.Now()}
	q.pods[qp.key] = qp
	q.pushActive(qp)
}

// Update records a change to a queued pod. A pod waiting as unschedulable
// is tried again (after its back-off) when its spec, labels or annotations
// changed — a status write, such as the scheduler's own PodScheduled
// condition, does not count.
func (q *schedulingQueue) Update(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qp, ok := q.pods[keyOf(pod)]
	if !ok {
		qp = &queuedPod{pod: pod, key: keyOf(pod), added: q.clock.Now()}
		q.pods[qp.key] = qp
		q.pushActive(qp)
		return
	}
	q.updateLocked(qp, pod)
}

func (q *schedulingQueue) updateLocked(qp *queuedPod, pod *corev1.Pod) {
	old := qp.pod
	qp.pod = pod
	if qp.where == inUnschedulable && podChangedForScheduling(old, pod) {
		delete(q.unschedulable, qp.key)
		q.requeueLocked(qp)
	}
}

// podChangedForScheduling reports whether a change might make the pod fit.
func podChangedForScheduling(old, cur *corev1.Pod) bool {
	return !apiequality.Semantic.DeepEqual(old.Spec, cur.Spec) ||
		!apiequality.Semantic.DeepEqual(old.Labels, cur.Labels) ||
		!apiequality.Semantic.DeepEqual(old.Annotations, cur.Annotations)
}

// Delete forgets the pod wherever it waits; a pod in flight is forgotten
// too (Done, Unschedulable and Retry then ignore it).
func (q *schedulingQueue) Delete(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleteLocked(keyOf(pod))
}

func (q *schedulingQueue) deleteLocked(key string) {
	qp, ok := q.pods[key]
	if !ok {
		return
	}
	delete(q.pods, key)
	switch qp.where {
	case inActive:
		heap.Remove(&q.active, qp.index)
	case inBackoff:
		heap.Remove(&q.backoff, qp.index)
	case inUnschedulable:
		delete(q.unschedulable, key)
	}
}

// Pop waits for a pod to try, marks it in flight and returns it with the
// pod object as last seen (Update may replace it while in flight). It
// returns false once the queue is closed.
func (q *schedulingQueue) Pop() (*queuedPod, *corev1.Pod, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, nil, false
	}
	qp := heap.Pop(&q.active).(*queuedPod)
	q.schedulingCycle++
	qp.cycle = q.schedulingCycle
	qp.attempts++
	qp.where = inFlight
	return qp, qp.pod, true
}

// Done forgets a pod in flight that was bound (or no longer needs
// scheduling). A pod deleted and created again under the same name while
// the old one was in flight is a different entry and stays.
func (q *schedulingQueue) Done(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, ok := q.pods[qp.key]; ok && cur == qp {
		q.deleteLocked(qp.key)
	}
}

// Unschedulable returns a pod that fit nowhere. It waits for a cluster
// change, unless one happened while it was in flight: then it only serves
// its back-off.
func (q *schedulingQueue) Unschedulable(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, ok := q.pods[qp.key]; !ok || cur != qp || qp.where != inFlight {
		return
	}
	qp.failed = q.clock.Now()
	if q.moveRequestCycle >= qp.cycle {
		q.requeueLocked(qp)
		return
	}
	qp.where = inUnschedulable
	q.unschedulable[qp.key] = qp
}

// Retry returns a pod whose attempt failed for another reason (a failed
// binding, an API error): it is tried again after its back-off.
func (q *schedulingQueue) Retry(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, ok := q.pods[qp.key]; !ok || cur != qp || qp.where != inFlight {
		return
	}
	qp.failed = q.clock.Now()
	q.requeueLocked(qp)
}

// MoveAll is called on a cluster change that could make pending pods fit
// (a node added or changed, a pod removed): every unschedulable pod goes
// to backoffQ, or straight to activeQ when its back-off is over.
func (q *schedulingQueue) MoveAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for key, qp := range q.unschedulable {
		delete(q.unschedulable, key)
		q.requeueLocked(qp)
	}
	q.moveRequestCycle = q.schedulingCycle
}

// requeueLocked puts a pod in backoffQ, or in activeQ when its back-off
// has passed.
func (q *schedulingQueue) requeueLocked(qp *queuedPod) {
	qp.backoffUntil = qp.failed.Add(q.backoffFor(qp.attempts))
	if !q.clock.Now().Before(qp.backoffUntil) {
		q.pushActive(qp)
		return
	}
	qp.where = inBackoff
	heap.Push(&q.backoff, qp)
}

// backoffFor is initialBackoff doubled per attempt after the first,
// capped at maxBackoff.
func (q *schedulingQueue) backoffFor(attempts int) time.Duration {
	d := q.opts.initialBackoff
	for i := 1; i < attempts; i++ {
		d *= 2
		if d >= q.opts.maxBackoff {
			return q.opts.maxBackoff
		}
	}
	return d
}

func (q *schedulingQueue) pushActive(qp *queuedPod) {
	qp.where = inActive
	heap.Push(&q.active, qp)
	q.cond.Signal()
}

// Flush moves pods whose back-off has passed to activeQ, and pods that
// have waited maxUnschedulable as unschedulable to backoffQ/activeQ. The
// shell calls it every second.
func (q *schedulingQueue) Flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for q.backoff.Len() > 0 && !now.Before(q.backoff.items[0].backoffUntil) {
		qp := heap.Pop(&q.backoff).(*queuedPod)
		q.pushActive(qp)
	}
	for key, qp := range q.unschedulable {
		if now.Sub(qp.failed) >= q.opts.maxUnschedulable {
			delete(q.unschedulable, key)
			q.requeueLocked(qp)
		}
	}
}

// Close wakes Pop's waiters; Pop then returns false. Idempotent.
func (q *schedulingQueue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// Len returns how many pods wait in each place: active, backoff,
// unschedulable, in flight.
func (q *schedulingQueue) Len() (active, backoff, unschedulable, inflight int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	active, backoff, unschedulable = q.active.Len(), q.backoff.Len(), len(q.unschedulable)
	return active, backoff, unschedulable, len(q.pods) - active - backoff - unschedulable
}

// podHeap is a binary heap of queued pods ordered by less.
type podHeap struct {
	items []*queuedPod
	less  func(a, b *queuedPod) bool
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index, h.items[j].index = i, j
}
func (h *podHeap) Push(x any) {
	qp := x.(*queuedPod)
	qp.index = len(h.items)
	h.items = append(h.items, qp)
}
func (h *podHeap) Pop() any {
	n := len(h.items) - 1
	qp := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	qp.index = -1
	return qp
}
