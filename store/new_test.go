package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

func TestRestartOnTheSameDataDirKeepsObjectsUIDsAndResourceVersions(t *testing.T) {
	opts := etcdtest.Options(t)
	opts.UnsafeNoFsync = false // a restart test of the real thing
	s, err := store.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	a := mustCreate(t, s, pod("default", "a", "n1", nil))
	b := mustCreate(t, s, pod("default", "b", "", nil))
	b.Spec.NodeName = "n2"
	if err := s.Update(ctxT(t), podKey("default", "b"), b); err != nil {
		t.Fatal(err)
	}
	revBefore, _ := s.Revision(ctxT(t))
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: got %v, want nil", err)
	}

	s = etcdtest.StartWith(t, opts)
	ctx := ctxT(t)
	if rev, err := s.Revision(ctx); err != nil || rev != revBefore {
		t.Fatalf("got revision %d (%v) after restart, want %d", rev, err, revBefore)
	}
	for _, want := range []*corev1.Pod{a, b} {
		var got corev1.Pod
		if err := s.Get(ctx, podKey("default", want.Name), &got); err != nil {
			t.Fatalf("get %s after restart: %v", want.Name, err)
		}
		if got.UID != want.UID || got.ResourceVersion != want.ResourceVersion || got.Spec.NodeName != want.Spec.NodeName {
			t.Fatalf("got %s uid %s rv %s node %q, want uid %s rv %s node %q", got.Name, got.UID, got.ResourceVersion, got.Spec.NodeName, want.UID, want.ResourceVersion, want.Spec.NodeName)
		}
	}
}

func TestTwoEmbeddedStoresRunSideBySide(t *testing.T) {
	var wg sync.WaitGroup
	stores := make([]*store.Store, 2)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.New(context.Background(), etcdtest.Options(t))
			if err != nil {
				t.Errorf("store %d: %v", i, err)
				return
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i, s := range stores {
		mustCreate(t, s, pod("default", fmt.Sprint("only-in-", i), "", nil))
	}
	for i, s := range stores {
		res, err := s.List(ctxT(t), pods.StorageKey("", ""), store.ListOptions{}, newPod)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(names(res)), fmt.Sprintf("[only-in-%d]", i); got != want {
			t.Fatalf("store %d: got %s, want %s", i, got, want)
		}
	}
}

func TestASecondStoreOnABusyDataDirFails(t *testing.T) {
	opts := etcdtest.Options(t)
	etcdtest.StartWith(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := store.New(ctx, opts)
	if err == nil {
		s.Close()
		t.Fatal("got a second store on the same data dir, want an error")
	}
}

func TestOptionsValidate(t *testing.T) {
	codec := etcdtest.Options(t).Codec
	tests := []struct {
		name string
		opts store.Options
		ok   bool
	}{
		{"embedded with a data dir", store.Options{DataDir: "/x", Codec: codec}, true},
		{"external without a data dir", store.Options{Endpoints: []string{"https://127.0.0.1:2379"}, Codec: codec}, true},
		{"no codec", store.Options{DataDir: "/x"}, false},
		{"embedded without a data dir", store.Options{Codec: codec}, false},
		{"a cert without a key", store.Options{Endpoints: []string{"https://127.0.0.1:2379"}, CertFile: "c", Codec: codec}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.opts.Validate(); (err == nil) != tt.ok {
				t.Fatalf("got %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestReadyAnswersWhileEtcdRunsAndFailsAfterClose(t *testing.T) {
	opts := etcdtest.Options(t)
	s, err := store.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctxT(t)); err != nil {
		t.Fatalf("ready: %v", err)
	}
	s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Ready(ctx); err == nil {
		t.Fatal("got ready after close, want an error")
	}
}

type recordingSink struct {
	mu  sync.Mutex
	ops []string
}

func (r *recordingSink) ObserveEtcd(op, resource string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, fmt.Sprintf("%s %s %v", op, resource, errors.Is(err, store.ErrNotFound)))
}

func TestMetricsObserveEveryOperationByResource(t *testing.T) {
	sink := &recordingSink{}
	opts := etcdtest.Options(t)
	opts.Metrics = sink
	s := etcdtest.StartWith(t, opts)
	ctx := ctxT(t)
	mustCreate(t, s, pod("default", "a", "", nil))
	s.Get(ctx, podKey("default", "missing"), &corev1.Pod{})
	s.List(ctx, pods.StorageKey("", ""), store.ListOptions{}, newPod)
	s.Delete(ctx, podKey("default", "a"), nil, 0)
	want := "[create core/pods false get core/pods true list core/pods false delete core/pods false]"
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if got := fmt.Sprint(sink.ops); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
