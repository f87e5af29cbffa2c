package scheduler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func queuePod(name string, prio int32) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec:       corev1.PodSpec{Priority: &prio},
	}
}

func newTestQueue() (*schedulingQueue, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	return newSchedulingQueue(queueOptions{
		initialBackoff: time.Second, maxBackoff: 10 * time.Second, maxUnschedulable: time.Minute,
	}, clk), clk
}

// popNow pops without blocking: it fails the test when nothing is active.
func popNow(t *testing.T, q *schedulingQueue) *queuedPod {
	t.Helper()
	if a, _, _, _ := q.Len(); a == 0 {
		t.Fatal("got an empty activeQ, want a pod to pop")
	}
	qp, _, ok := q.Pop()
	if !ok {
		t.Fatal("queue closed")
	}
	return qp
}

func TestQueuePopsHigherPriorityFirstThenOldest(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(queuePod("low-old", 0))
	clk.Step(time.Millisecond)
	q.Add(queuePod("high", 10))
	clk.Step(time.Millisecond)
	q.Add(queuePod("low-new", 0))
	var got []string
	for i := 0; i < 3; i++ {
		got = append(got, popNow(t, q).key)
	}
	want := []string{"default/high", "default/low-old", "default/low-new"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got order %v, want %v", got, want)
		}
	}
}

func TestAnUnschedulablePodWaitsForAClusterChangeThenItsBackoff(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(queuePod("big", 0))
	qp := popNow(t, q)
	q.Unschedulable(qp)
	q.Flush()
	if a, b, u, _ := q.Len(); a != 0 || b != 0 || u != 1 {
		t.Fatalf("after a failure got active=%d backoff=%d unschedulable=%d, want 0 0 1", a, b, u)
	}
	// A status-only update (the scheduler's own condition) changes nothing.
	st := qp.pod.DeepCopy()
	st.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}}
	q.Update(st)
	if _, _, u, _ := q.Len(); u != 1 {
		t.Fatalf("after a status update got unschedulable=%d, want 1", u)
	}
	clk.Step(500 * time.Millisecond)
	q.MoveAll()
	if a, b, _, _ := q.Len(); a != 0 || b != 1 {
		t.Fatalf("after a move within the back-off got active=%d backoff=%d, want 0 1", a, b)
	}
	clk.Step(500 * time.Millisecond)
	q.Flush()
	if a, _, _, _ := q.Len(); a != 1 {
		t.Fatalf("after the 1s back-off got active=%d, want 1", a)
	}
	if qp = popNow(t, q); qp.attempts != 2 {
		t.Fatalf("got attempts %d, want 2", qp.attempts)
	}
}

func TestBackoffDoublesUpToTheMaximum(t *testing.T) {
	q, _ := newTestQueue()
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 9: 10 * time.Second} {
		if got := q.backoffFor(attempts); got != want {
			t.Errorf("backoff after %d attempts: got %s, want %s", attempts, got, want)
		}
	}
}

func TestAChangeWhileInFlightSendsAFailedPodToBackoffNotUnschedulable(t *testing.T) {
	q, _ := newTestQueue()
	q.Add(queuePod("p", 0))
	qp := popNow(t, q)
	q.MoveAll() // a node was added while the pod was being scheduled
	q.Unschedulable(qp)
	if _, b, u, _ := q.Len(); b != 1 || u != 0 {
		t.Fatalf("got backoff=%d unschedulable=%d, want 1 0", b, u)
	}
}

func TestUnschedulablePodsAreRetriedAfterTheFlushInterval(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(queuePod("p", 0))
	q.Unschedulable(popNow(t, q))
	clk.Step(59 * time.Second)
	q.Flush()
	if a, _, _, _ := q.Len(); a != 0 {
		t.Fatalf("before a minute got active=%d, want 0", a)
	}
	clk.Step(time.Second)
	q.Flush()
	if a, _, _, _ := q.Len(); a != 1 {
		t.Fatalf("after a minute got active=%d, want 1", a)
	}
}

func TestASpecUpdateRetriesAnUnschedulablePod(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(queuePod("p", 0))
	qp := popNow(t, q)
	q.Unschedulable(qp)
	clk.Step(2 * time.Second)
	upd := qp.pod.DeepCopy()
	upd.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	q.Update(upd)
	if a, _, u, _ := q.Len(); a != 1 || u != 0 {
		t.Fatalf("got active=%d unschedulable=%d, want 1 0", a, u)
	}
	if _, pod, _ := q.Pop(); pod.Spec.NodeSelector["disk"] != "ssd" {
		t.Fatalf("got the old pod object, want the updated one")
	}
}

func TestDeletedPodsAreForgottenEvenInFlight(t *testing.T) {
	q, _ := newTestQueue()
	p := queuePod("p", 0)
	q.Add(p)
	qp := popNow(t, q)
	q.Delete(p)
	q.Add(p) // created again under the same name
	q.Done(qp)
	if a, _, _, _ := q.Len(); a != 1 {
		t.Fatalf("got active=%d, want the recreated pod still queued", a)
	}
	q.Unschedulable(qp) // the old entry coming back is ignored
	if _, _, u, _ := q.Len(); u != 0 {
		t.Fatalf("got unschedulable=%d, want 0", u)
	}
}

func TestCloseWakesPop(t *testing.T) {
	q, _ := newTestQueue()
	done := make(chan bool)
	go func() {
		_, _, ok := q.Pop()
		done <- ok
	}()
	time.Sleep(10 * time.Millisecond)
	q.Close()
	q.Close()
	if ok := <-done; ok {
		t.Fatal("got a pod from a closed queue, want ok=false")
	}
}
