package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

func TestGuaranteedUpdateRetriesUntilEveryConcurrentIncrementLands(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	p := pod("default", "counter", "", nil)
	p.Annotations = map[string]string{"n": "0"}
	mustCreate(t, s, p)
	const writers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				errs <- s.GuaranteedUpdate(ctx, podKey("default", "counter"), &corev1.Pod{}, false,
					func(cur runtime.Object, _ bool) (runtime.Object, error) {
						p := cur.(*corev1.Pod)
						var n int
						fmt.Sscan(p.Annotations["n"], &n)
						p.Annotations["n"] = fmt.Sprint(n + 1)
						return p, nil
					})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("guaranteed update: %v", err)
		}
	}
	var got corev1.Pod
	if err := s.Get(ctx, podKey("default", "counter"), &got); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint(writers * each); got.Annotations["n"] != want {
		t.Fatalf("got n=%s, want %s", got.Annotations["n"], want)
	}
}

func TestGuaranteedUpdateGivesAFreshCopyOnEveryAttempt(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	mustCreate(t, s, pod("default", "a", "", nil))
	var seen []*corev1.Pod
	err := s.GuaranteedUpdate(ctx, podKey("default", "a"), &corev1.Pod{}, false,
		func(cur runtime.Object, _ bool) (runtime.Object, error) {
			p := cur.(*corev1.Pod)
			seen = append(seen, p)
			if len(seen) == 1 {
				// Someone else writes between the read and the write.
				other := pod("default", "a", "other", nil)
				if err := s.Update(ctx, podKey("default", "a"), other); err != nil {
					return nil, err
				}
			}
			p.Labels = map[string]string{"mine": "yes"}
			return p, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] == seen[1] {
		t.Fatalf("got %d attempts (same object: %v), want 2 with distinct objects", len(seen), len(seen) == 2 && seen[0] == seen[1])
	}
	if seen[1].Spec.NodeName != "other" || seen[1].Labels["mine"] != "yes" {
		t.Fatalf("second attempt saw node %q, want the concurrent write's node other", seen[1].Spec.NodeName)
	}
}

func TestGuaranteedUpdateWithoutAChangeWritesNothing(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	p := mustCreate(t, s, pod("default", "a", "n1", nil))
	before, _ := s.Revision(ctx)
	var out corev1.Pod
	err := s.GuaranteedUpdate(ctx, podKey("default", "a"), &out, false,
		func(cur runtime.Object, _ bool) (runtime.Object, error) { return cur, nil })
	if err != nil {
		t.Fatal(err)
	}
	after, _ := s.Revision(ctx)
	if after != before || out.ResourceVersion != p.ResourceVersion || out.Spec.NodeName != "n1" {
		t.Fatalf("got revision %d→%d, out rv %s node %q; want no write, rv %s node n1", before, after, out.ResourceVersion, out.Spec.NodeName, p.ResourceVersion)
	}
}

func TestGuaranteedUpdateCreatesWhenIgnoringNotFound(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	var out corev1.Pod
	err := s.GuaranteedUpdate(ctx, podKey("default", "new"), &out, true,
		func(cur runtime.Object, exists bool) (runtime.Object, error) {
			if exists {
				return nil, errors.New("want exists false")
			}
			return pod("default", "new", "n1", nil), nil
		})
	if err != nil {
		t.Fatal(err)
	}
	rev, _ := s.Revision(ctx)
	if out.Name != "new" || rvOf(t, &out) != rev {
		t.Fatalf("got %q rv %s, want new rv %d", out.Name, out.ResourceVersion, rev)
	}
}

func TestGuaranteedUpdateReturnsTheCallbacksErrorAsIs(t *testing.T) {
	s := etcdtest.Start(t)
	mustCreate(t, s, pod("default", "a", "", nil))
	mine := errors.New("refused")
	err := s.GuaranteedUpdate(ctxT(t), podKey("default", "a"), &corev1.Pod{}, false,
		func(runtime.Object, bool) (runtime.Object, error) { return nil, mine })
	if err != mine {
		t.Fatalf("got %v, want the callback's error itself", err)
	}
}

var _ = store.ErrConflict
