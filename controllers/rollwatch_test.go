package controllers

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// rolloutWatch follows a Deployment's pods through a watch and checks,
// at every event, the bounds a rolling update promises: no more than
// replicas+maxSurge pods that are not being deleted, and — once armed —
// no fewer than replicas−maxUnavailable ready ones.
type rolloutWatch struct {
	maxTotal, minReady int

	mu         sync.Mutex
	pods       map[string]*corev1.Pod
	armed      bool
	violations []string
	events     int
	peakTotal  int
	lowReady   int
	cancel     context.CancelFunc
	done       chan struct{}
}

// watchRollout starts watching pods with label app=app, replaying the
// current ones first.
func watchRollout(t *testing.T, cs kubernetes.Interface, app string, maxTotal, minReady int) *rolloutWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=" + app, ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	rw := &rolloutWatch{maxTotal: maxTotal, minReady: minReady, pods: map[string]*corev1.Pod{}, cancel: cancel,
		done: make(chan struct{}), lowReady: -1}
	for i := range list.Items {
		rw.pods[list.Items[i].Name] = &list.Items[i]
	}
	go func() {
		defer close(rw.done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			rw.mu.Lock()
			if os.Getenv("NAVARCH_TEST_ROLLWATCH") != "" {
				fmt.Printf("%s %s hash=%s phase=%s ready=%v deleting=%v node=%s\n", ev.Type, p.Name, p.Labels["pod-template-hash"], p.Status.Phase, isPodReady(p), p.DeletionTimestamp != nil, p.Spec.NodeName)
			}
			if ev.Type == watch.Deleted {
				delete(rw.pods, p.Name)
			} else {
				rw.pods[p.Name] = p
			}
			rw.check()
			rw.mu.Unlock()
		}
	}()
	t.Cleanup(rw.stop)
	return rw
}

// arm starts checking the minimum of ready pods (call it once the
// Deployment is fully available).
func (rw *rolloutWatch) arm() {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.armed = true
	rw.check()
}

func (rw *rolloutWatch) check() {
	rw.events++
	total, ready := 0, 0
	for _, p := range rw.pods {
		if p.DeletionTimestamp != nil || isPodTerminal(p) {
			continue
		}
		total++
		if isPodReady(p) {
			ready++
		}
	}
	rw.peakTotal = max(rw.peakTotal, total)
	if total > rw.maxTotal {
		rw.violations = append(rw.violations, fmt.Sprintf("event %d: %d pods, want at most %d", rw.events, total, rw.maxTotal))
	}
	if rw.armed {
		if rw.lowReady < 0 || ready < rw.lowReady {
			rw.lowReady = ready
		}
		if ready < rw.minReady {
			rw.violations = append(rw.violations, fmt.Sprintf("event %d: %d ready pods, want at least %d", rw.events, ready, rw.minReady))
		}
	}
}

func (rw *rolloutWatch) stop() {
	rw.cancel()
	<-rw.done
}

// verdict stops the watch and fails the test on any violation; it returns
// the peak pod count and the lowest ready count seen while armed.
func (rw *rolloutWatch) verdict(t *testing.T) (events, peakTotal, lowReady int) {
	t.Helper()
	rw.stop()
	rw.mu.Lock()
	defer rw.mu.Unlock()
	for _, v := range rw.violations {
		t.Error(v)
	}
	return rw.events, rw.peakTotal, rw.lowReady
}
