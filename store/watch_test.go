package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

// next returns the next event that is not a bookmark, failing after 10s.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed, want an event")
			}
			if ev.Type == watch.Bookmark {
				continue
			}
			return ev
		case <-timeout:
			t.Fatalf("no event after 10s")
		}
	}
}

// describe returns "TYPE name@rv".
func describe(ev watch.Event) string {
	m, ok := ev.Object.(metav1.Object)
	if !ok {
		return fmt.Sprintf("%s %T", ev.Type, ev.Object)
	}
	return fmt.Sprintf("%s %s@%s", ev.Type, m.GetName(), m.GetResourceVersion())
}

func TestWatchFromARevisionSendsEveryLaterChange(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	a := mustCreate(t, s, pod("default", "a", "", nil))
	from := a.ResourceVersion
	b := mustCreate(t, s, pod("default", "b", "", nil))
	a.Spec.NodeName = "n1"
	if err := s.Update(ctx, podKey("default", "a"), a); err != nil {
		t.Fatal(err)
	}
	var deleted corev1.Pod
	if err := s.Delete(ctx, podKey("default", "b"), &deleted, 0); err != nil {
		t.Fatal(err)
	}
	w, err := s.Watch(ctx, pods.StorageKey("default", ""), store.WatchOptions{ResourceVersion: from, Recursive: true}, newPod)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	want := []string{
		"ADDED b@" + b.ResourceVersion,
		"MODIFIED a@" + a.ResourceVersion,
		"DELETED b@" + deleted.ResourceVersion,
	}
	for i, w1 := range want {
		if got := describe(next(t, w)); got != w1 {
			t.Fatalf("event %d: got %s, want %s", i, got, w1)
		}
	}
}

func TestWatchFromZeroStartsWithTheCurrentObjects(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	a := mustCreate(t, s, pod("default", "a", "", nil))
	w, err := s.Watch(ctx, pods.StorageKey("default", ""), store.WatchOptions{Recursive: true}, newPod)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	if got, want := describe(next(t, w)), "ADDED a@"+a.ResourceVersion; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	b := mustCreate(t, s, pod("default", "b", "", nil))
	if got, want := describe(next(t, w)), "ADDED b@"+b.ResourceVersion; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestWatchWithAFieldSelectorTranslatesTransitions(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	pred := store.Predicate{Field: fields.OneTermEqualSelector("spec.nodeName", "n1"), Attrs: podAttrs}
	w, err := s.Watch(ctx, pods.StorageKey("", ""), store.WatchOptions{Recursive: true, Predicate: pred}, newPod)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	p := mustCreate(t, s, pod("default", "a", "", nil)) // outside: nothing
	set := func(node string) {
		t.Helper()
		p.Spec.NodeName = node
		if err := s.Update(ctx, podKey("default", "a"), p); err != nil {
			t.Fatal(err)
		}
	}
	set("n1") // enters
	entered := p.ResourceVersion
	p.Labels = map[string]string{"x": "y"}
	set("n1") // stays
	stayed := p.ResourceVersion
	set("n2") // leaves
	left := p.ResourceVersion
	set("n3") // stays outside: nothing
	mustCreate(t, s, pod("default", "b", "n1", nil))
	want := []string{"ADDED a@" + entered, "MODIFIED a@" + stayed, "DELETED a@" + left, "ADDED b@"}
	for i, w1 := range want {
		ev := next(t, w)
		got := describe(ev)
		if i == 3 {
			got = got[:len("ADDED b@")]
		}
		if got != w1 {
			t.Fatalf("event %d: got %s, want %s", i, got, w1)
		}
		if i == 2 {
			if node := ev.Object.(*corev1.Pod).Spec.NodeName; node != "n1" {
				t.Fatalf("DELETED on leaving: got node %q, want the old state n1", node)
			}
		}
	}
}

func TestWatchSendsBookmarksWithTheNewestRevision(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	w, err := s.Watch(ctx, pods.StorageKey("", ""), store.WatchOptions{Recursive: true, AllowBookmarks: true}, newPod)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	// A write elsewhere moves the revision without an event for this watch.
	cms := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "c"}}
	if err := s.Create(ctx, "/registry/core/configmaps/default/c", cms); err != nil {
		t.Fatal(err)
	}
	want := rvOf(t, cms)
	deadline := time.After(10 * etcdtest.BookmarkInterval * 4)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed")
			}
			if ev.Type != watch.Bookmark {
				t.Fatalf("got %s, want only bookmarks", describe(ev))
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				t.Fatalf("bookmark object %T, want *v1.Pod", ev.Object)
			}
			if rvOf(t, p) >= want {
				if p.Name != "" {
					t.Fatalf("bookmark object has name %q, want only a resourceVersion", p.Name)
				}
				return
			}
		case <-deadline:
			t.Fatalf("no bookmark at revision %d", want)
		}
	}
}

func TestWatchFromACompactedRevisionFails(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	a := mustCreate(t, s, pod("default", "a", "", nil))
	for i := 0; i < 3; i++ {
		a.Spec.NodeName = fmt.Sprint("n", i)
		if err := s.Update(ctx, podKey("default", "a"), a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(ctx, rvOf(t, a)); err != nil {
		t.Fatalf("compact: %v", err)
	}
	_, err := s.Watch(ctx, pods.StorageKey("", ""), store.WatchOptions{ResourceVersion: "2", Recursive: true}, newPod)
	if !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("got %v, want ErrCompacted", err)
	}
	// From the compaction revision on, the history is there.
	w, err := s.Watch(ctx, pods.StorageKey("", ""), store.WatchOptions{ResourceVersion: fmt.Sprint(rvOf(t, a) - 1), Recursive: true}, newPod)
	if err != nil {
		t.Fatalf("watch from the compaction revision - 1: %v", err)
	}
	defer w.Stop()
	if got, want := describe(next(t, w)), "MODIFIED a@"+a.ResourceVersion; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestWatchEndsWhenStoppedOrTheContextEnds(t *testing.T) {
	s := etcdtest.Start(t)
	for _, how := range []string{"stop", "context"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctxT(t))
			defer cancel()
			w, err := s.Watch(ctx, podKey("default", "a"), store.WatchOptions{AllowBookmarks: true}, newPod)
			if err != nil {
				t.Fatal(err)
			}
			if how == "stop" {
				w.Stop()
				w.Stop() // idempotent
			} else {
				cancel()
			}
			select {
			case _, ok := <-w.ResultChan():
				for ok {
					_, ok = <-w.ResultChan()
				}
			case <-time.After(5 * time.Second):
				t.Fatal("result channel still open 5s after the end")
			}
		})
	}
}

func TestStoppedWatchesLeaveNoGoroutinesBehind(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	mustCreate(t, s, pod("default", "a", "", nil))
	settle := func() int {
		time.Sleep(200 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	// One watch first, so that the client's shared machinery exists.
	w0, err := s.Watch(ctx, pods.StorageKey("", ""), store.WatchOptions{Recursive: true}, newPod)
	if err != nil {
		t.Fatal(err)
	}
	next(t, w0)
	before := settle()
	var ws []watch.Interface
	for i := 0; i < 20; i++ {
		w, err := s.Watch(ctx, pods.StorageKey("", ""), store.WatchOptions{Recursive: true, AllowBookmarks: true}, newPod)
		if err != nil {
			t.Fatal(err)
		}
		next(t, w)
		ws = append(ws, w)
	}
	for _, w := range ws {
		w.Stop()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		after := settle()
		if after <= before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d goroutines 5s after stopping 20 watches, want at most %d as before", after, before)
		}
	}
	w0.Stop()
}

func TestANonRecursiveWatchSeesOnlyItsKey(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	mustCreate(t, s, pod("default", "ab", "", nil)) // shares the key's prefix
	a := mustCreate(t, s, pod("default", "a", "", nil))
	w, err := s.Watch(ctx, podKey("default", "a"), store.WatchOptions{}, newPod)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if got, want := describe(next(t, w)), "ADDED a@"+a.ResourceVersion; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	mustCreate(t, s, pod("default", "abc", "", nil))
	if err := s.Delete(ctx, podKey("default", "a"), nil, 0); err != nil {
		t.Fatal(err)
	}
	if got := describe(next(t, w)); got[:len("DELETED a@")] != "DELETED a@" {
		t.Fatalf("got %s, want DELETED a", got)
	}
}
