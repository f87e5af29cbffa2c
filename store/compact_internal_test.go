package store

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// newTestStore starts an embedded store over unstructured JSON (this
// package's tests cannot use internal/etcdtest, which imports it).
func newTestStore(t *testing.T, mutate func(*Options)) *Store {
	t.Helper()
	opts := Options{
		DataDir:         t.TempDir(),
		Codec:           unstructured.UnstructuredJSONScheme,
		CompactInterval: -1,
		UnsafeNoFsync:   true,
	}
	if mutate != nil {
		mutate(&opts)
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("new store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func object(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetNamespace("default")
	u.SetName(name)
	return u
}

func TestCompactTargetIsTheNewestSampleOldEnough(t *testing.T) {
	now := time.Unix(1000, 0)
	samples := []revisionSample{
		{at: now.Add(-10 * time.Minute), rev: 10},
		{at: now.Add(-6 * time.Minute), rev: 20},
		{at: now.Add(-5 * time.Minute), rev: 30},
		{at: now.Add(-4 * time.Minute), rev: 40},
	}
	tests := []struct {
		retention time.Duration
		want      int64
		left      int
	}{
		{5 * time.Minute, 30, 1},
		{7 * time.Minute, 10, 3},
		{11 * time.Minute, 0, 4},
		{0, 40, 0},
	}
	for _, tt := range tests {
		got, rest := compactTarget(samples, now, tt.retention)
		if got != tt.want || len(rest) != tt.left {
			t.Errorf("retention %s: got %d with %d left, want %d with %d left", tt.retention, got, len(rest), tt.want, tt.left)
		}
	}
}

func TestOnlyOneOfTwoServersCompactsPerInterval(t *testing.T) {
	a := newTestStore(t, nil)
	b := newTestStore(t, func(o *Options) {
		o.DataDir = ""
		o.Endpoints = a.Client().Endpoints()
	})
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := a.Create(ctx, "/registry/core/configmaps/default/"+string(rune('a'+i)), object(string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	rev, _ := a.Revision(ctx)
	// Both saw the key at version 0; a is first this interval.
	va, err := a.compactShared(ctx, 0, rev-2)
	if err != nil || va != 1 {
		t.Fatalf("a: got version %d (%v), want 1", va, err)
	}
	vb, err := b.compactShared(ctx, 0, rev)
	if err != nil || vb != 1 {
		t.Fatalf("b: got version %d (%v), want 1 (learnt, no compaction)", vb, err)
	}
	if _, err := a.client.Get(ctx, "x", clientv3.WithRev(rev-3)); !isCompacted(err) {
		t.Fatalf("read below a's compaction: got %v, want compacted", err)
	}
	if _, err := a.client.Get(ctx, "x", clientv3.WithRev(rev-1)); err != nil {
		t.Fatalf("read above a's compaction: got %v, want b not to have compacted", err)
	}
	// Next interval, b (now up to date) may compact.
	if vb, err = b.compactShared(ctx, vb, rev); err != nil || vb != 2 {
		t.Fatalf("b next interval: got version %d (%v), want 2", vb, err)
	}
}

func TestTheCompactionLoopKeepsTheRetentionAndCompactsOlder(t *testing.T) {
	s := newTestStore(t, func(o *Options) {
		o.CompactInterval = 50 * time.Millisecond
		o.CompactRetention = 150 * time.Millisecond
	})
	ctx := context.Background()
	if err := s.Create(ctx, "/registry/core/configmaps/default/a", object("a")); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Revision(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.client.Get(ctx, "x", clientv3.WithRev(first))
		if isCompacted(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revision %d still readable after 10s of compaction every 50ms", first)
		}
		u := object("a")
		if err := s.Update(ctx, "/registry/core/configmaps/default/a", u); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// What was written in the last retention is still there.
	recent, _ := s.Revision(ctx)
	if _, err := s.client.Get(ctx, "x", clientv3.WithRev(recent-1)); err != nil {
		t.Fatalf("read one revision back: %v, want it kept", err)
	}
}

func TestAWatchOvertakenByCompactionEndsWithExpired(t *testing.T) {
	s := newTestStore(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &watcher{s: s, key: "/k", ctx: ctx, cancel: cancel, result: make(chan watch.Event, 1),
		newItem: func() runtime.Object { return &corev1.Pod{} }}
	due := false
	resp := clientv3.WatchResponse{Header: &etcdserverpb.ResponseHeader{Revision: 9}, CompactRevision: 7, Canceled: true}
	if w.handle(resp, &due) {
		t.Fatal("got the watch going on, want it to end")
	}
	ev := <-w.result
	st, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok || st.Code != 410 || !apierrors.IsResourceExpired(apierrors.FromObject(st)) {
		t.Fatalf("got %s %#v, want ERROR with a 410 Expired status", ev.Type, ev.Object)
	}
}

func TestResourceOfNamesGroupAndResource(t *testing.T) {
	for key, want := range map[string]string{
		"/registry/core/pods/default/a":         "core/pods",
		"/registry/apps/deployments/":           "apps/deployments",
		"/registry/core/namespaces/kube-system": "core/namespaces",
		"compact_rev_key":                       "other",
	} {
		if got := resourceOf(key); got != want {
			t.Errorf("%s: got %s, want %s", key, got, want)
		}
	}
}
