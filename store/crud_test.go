package store_test

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

func TestCreateThenGetReturnsTheObjectWithTheWriteRevision(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	p := mustCreate(t, s, pod("default", "a", "n1", map[string]string{"app": "x"}))
	rv := rvOf(t, p)
	if rv == 0 {
		t.Fatalf("got resourceVersion 0 after create, want the write revision")
	}
	cur, err := s.Revision(ctx)
	if err != nil || cur != rv {
		t.Fatalf("got revision %d (%v), want %d", cur, err, rv)
	}
	var got corev1.Pod
	if err := s.Get(ctx, podKey("default", "a"), &got); err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Name != "a" || got.Spec.NodeName != "n1" || got.Labels["app"] != "x" || rvOf(t, &got) != rv {
		t.Fatalf("got %s/%s node %q rv %s, want default/a node n1 rv %d", got.Namespace, got.Name, got.Spec.NodeName, got.ResourceVersion, rv)
	}
}

func TestStoredJSONHoldsNoResourceVersion(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	mustCreate(t, s, pod("default", "a", "", nil))
	resp, err := s.Client().Get(ctx, podKey("default", "a"))
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("raw get: %v (%d kvs)", err, len(resp.Kvs))
	}
	if v := string(resp.Kvs[0].Value); strings.Contains(v, "resourceVersion") || !strings.Contains(v, `"kind":"Pod"`) {
		t.Fatalf("stored JSON %s: want kind Pod and no resourceVersion", v)
	}
}

func TestVerbsReturnTheirSentinelErrors(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	p := mustCreate(t, s, pod("default", "a", "", nil))
	stale := rvOf(t, p)
	p.Spec.NodeName = "n2"
	if err := s.Update(ctx, podKey("default", "a"), p); err != nil {
		t.Fatalf("update: %v", err)
	}
	staleObj := pod("default", "a", "n3", nil)
	staleObj.ResourceVersion = "1"

	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"get of a missing key", func() error { return s.Get(ctx, podKey("default", "missing"), &corev1.Pod{}) }, store.ErrNotFound},
		{"create of an existing key", func() error { return s.Create(ctx, podKey("default", "a"), pod("default", "a", "", nil)) }, store.ErrExists},
		{"update with a stale resourceVersion", func() error { return s.Update(ctx, podKey("default", "a"), staleObj) }, store.ErrConflict},
		{"update of a missing key", func() error { return s.Update(ctx, podKey("default", "missing"), pod("default", "missing", "", nil)) }, store.ErrNotFound},
		{"delete with a stale resourceVersion", func() error { return s.Delete(ctx, podKey("default", "a"), nil, stale) }, store.ErrConflict},
		{"delete of a missing key", func() error { return s.Delete(ctx, podKey("default", "missing"), nil, 0) }, store.ErrNotFound},
		{"guaranteed update of a missing key", func() error {
			return s.GuaranteedUpdate(ctx, podKey("default", "missing"), &corev1.Pod{}, false,
				func(cur runtime.Object, _ bool) (runtime.Object, error) { return cur, nil })
		}, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCreateRefusesAnObjectWithAResourceVersion(t *testing.T) {
	s := etcdtest.Start(t)
	p := pod("default", "a", "", nil)
	p.ResourceVersion = "5"
	if err := s.Create(ctxT(t), podKey("default", "a"), p); err == nil {
		t.Fatalf("got no error, want one for a resourceVersion on create")
	}
}

func TestUpdateWithTheCurrentResourceVersionBumpsIt(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	p := mustCreate(t, s, pod("default", "a", "", nil))
	before := rvOf(t, p)
	p.Spec.NodeName = "n9"
	if err := s.Update(ctx, podKey("default", "a"), p); err != nil {
		t.Fatalf("update: %v", err)
	}
	if after := rvOf(t, p); after <= before {
		t.Fatalf("got resourceVersion %d after update, want > %d", after, before)
	}
	var got corev1.Pod
	if err := s.Get(ctx, podKey("default", "a"), &got); err != nil || got.Spec.NodeName != "n9" || got.ResourceVersion != p.ResourceVersion {
		t.Fatalf("got node %q rv %s (%v), want n9 rv %s", got.Spec.NodeName, got.ResourceVersion, err, p.ResourceVersion)
	}
}

func TestDeleteReturnsTheLastStateAtTheDeleteRevision(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	p := mustCreate(t, s, pod("default", "a", "n1", nil))
	var out corev1.Pod
	if err := s.Delete(ctx, podKey("default", "a"), &out, rvOf(t, p)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	cur, _ := s.Revision(ctx)
	if out.Name != "a" || out.Spec.NodeName != "n1" || rvOf(t, &out) != cur {
		t.Fatalf("got %s node %q rv %s, want a node n1 rv %d", out.Name, out.Spec.NodeName, out.ResourceVersion, cur)
	}
	if err := s.Get(ctx, podKey("default", "a"), &corev1.Pod{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after delete: got %v, want ErrNotFound", err)
	}
}

func TestGetReplacesWhatOutHeld(t *testing.T) {
	s := etcdtest.Start(t)
	mustCreate(t, s, pod("default", "a", "", nil))
	out := pod("default", "old", "n1", map[string]string{"stale": "yes"})
	if err := s.Get(ctxT(t), podKey("default", "a"), out); err != nil {
		t.Fatalf("get: %v", err)
	}
	if out.Name != "a" || out.Spec.NodeName != "" || len(out.Labels) != 0 {
		t.Fatalf("got name %q node %q labels %v, want a, no node, no labels", out.Name, out.Spec.NodeName, out.Labels)
	}
}

func TestParseResourceVersionTakesOnlyARevision(t *testing.T) {
	tests := []struct {
		rv   string
		want int64
		ok   bool
	}{
		{"", 0, true},
		{"0", 0, true},
		{"42", 42, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"9223372036854775808", 0, false},
		{"99999999999999999999", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1a", 0, false},
		{" 1", 0, false},
	}
	for _, tt := range tests {
		got, err := store.ParseResourceVersion(tt.rv)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseResourceVersion(%q): got %d, %v; want %d, ok %v", tt.rv, got, err, tt.want, tt.ok)
		}
	}
}
