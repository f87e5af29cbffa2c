package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

func TestTxnAppliesCreatesUpdatesAndDeletesAtOneRevision(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	u := mustCreate(t, s, pod("a", "u", "", nil))
	d := mustCreate(t, s, pod("a", "d", "n1", nil))
	u.Spec.NodeName = "n2"
	c := pod("a", "c", "", nil)
	var deleted corev1.Pod
	ops := []store.Op{
		{Type: store.OpCreate, Key: podKey("a", "c"), Object: c},
		{Type: store.OpUpdate, Key: podKey("a", "u"), Object: u, ResourceVersion: rvOf(t, u)},
		{Type: store.OpDelete, Key: podKey("a", "d"), Object: &deleted, ResourceVersion: rvOf(t, d)},
	}
	rev, err := s.Txn(ctx, ops)
	if err != nil {
		t.Fatalf("txn: %v", err)
	}
	if rvOf(t, c) != rev || rvOf(t, u) != rev || rvOf(t, &deleted) != rev || deleted.Spec.NodeName != "n1" {
		t.Fatalf("got rvs %s %s %s (deleted node %q), want all %d and node n1", c.ResourceVersion, u.ResourceVersion, deleted.ResourceVersion, deleted.Spec.NodeName, rev)
	}
	res, err := s.List(ctx, pods.StorageKey("a", ""), store.ListOptions{}, newPod)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(names(res)); got != "[c u]" || res.Items[1].(*corev1.Pod).Spec.NodeName != "n2" {
		t.Fatalf("got %s, want [c u] with u on n2", got)
	}
}

func TestTxnWithOneFailingOpAmong500WritesNothing(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	existing := mustCreate(t, s, pod("a", "p250", "", nil))
	upd := mustCreate(t, s, pod("a", "upd", "", nil))
	before, _ := s.Revision(ctx)
	tests := []struct {
		name   string
		broken store.Op
		want   error
		key    string
	}{
		{"a create of an existing key", store.Op{Type: store.OpCreate, Key: podKey("a", "p250"), Object: pod("a", "p250", "", nil)}, store.ErrExists, podKey("a", "p250")},
		{"an update at a stale revision", store.Op{Type: store.OpUpdate, Key: podKey("a", "upd"), Object: upd, ResourceVersion: rvOf(t, existing)}, store.ErrConflict, podKey("a", "upd")},
		{"a delete of a missing key", store.Op{Type: store.OpDelete, Key: podKey("a", "missing")}, store.ErrNotFound, podKey("a", "missing")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ops []store.Op
			for i := 0; i < 500; i++ {
				if i == 250 {
					ops = append(ops, tt.broken)
					continue
				}
				name := fmt.Sprintf("p%03d", i)
				ops = append(ops, store.Op{Type: store.OpCreate, Key: podKey("a", name), Object: pod("a", name, "", nil)})
			}
			_, err := s.Txn(ctx, ops)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("got %v, want %v naming %s", err, tt.want, tt.key)
			}
			if n, _ := s.Count(ctx, pods.StorageKey("a", "")); n != 2 {
				t.Fatalf("got %d pods after the failed txn, want the 2 from before", n)
			}
			if after, _ := s.Revision(ctx); after != before {
				t.Fatalf("got revision %d, want %d unchanged", after, before)
			}
			if ops[0].Object.(*corev1.Pod).ResourceVersion != "" {
				t.Fatalf("got a resourceVersion on an op of a failed txn, want none")
			}
		})
	}
}

func TestTxnOf1000ObjectsFitsTheLimits(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	ops := make([]store.Op, 1000)
	for i := range ops {
		p := pod("big", fmt.Sprintf("p%04d", i), "", nil)
		// About 4 KiB each, 4 MiB in all: past etcd's default 1.5 MiB.
		p.Annotations = map[string]string{"pad": strings.Repeat("x", 4096)}
		ops[i] = store.Op{Type: store.OpCreate, Key: podKey("big", p.Name), Object: p}
	}
	rev, err := s.Txn(ctx, ops)
	if err != nil {
		t.Fatalf("txn of 1000: %v", err)
	}
	if n, _ := s.Count(ctx, pods.StorageKey("big", "")); n != 1000 {
		t.Fatalf("got %d pods, want 1000", n)
	}
	if got := rvOf(t, ops[999].Object); got != rev {
		t.Fatalf("got resourceVersion %d, want %d", got, rev)
	}
}

func TestTxnOverTheLimitsIsTooLarge(t *testing.T) {
	s := etcdtest.Start(t)
	tests := []struct {
		name string
		ops  func() []store.Op
	}{
		{"too many ops", func() []store.Op {
			ops := make([]store.Op, store.MaxTxnOps+1)
			for i := range ops {
				ops[i] = store.Op{Type: store.OpDelete, Key: podKey("x", fmt.Sprint(i))}
			}
			return ops
		}},
		{"too many bytes", func() []store.Op {
			ops := make([]store.Op, 40)
			for i := range ops {
				p := pod("x", fmt.Sprint(i), "", nil)
				p.Annotations = map[string]string{"pad": strings.Repeat("x", 1<<20)}
				ops[i] = store.Op{Type: store.OpCreate, Key: podKey("x", p.Name), Object: p}
			}
			return ops
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Txn(ctxT(t), tt.ops()); !errors.Is(err, store.ErrTooLarge) {
				t.Fatalf("got %v, want ErrTooLarge", err)
			}
		})
	}
}
