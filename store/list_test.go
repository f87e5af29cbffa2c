package store_test

import (
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

// names returns the pod names of a list page.
func names(res *store.ListResult) []string {
	var out []string
	for _, o := range res.Items {
		out = append(out, o.(*corev1.Pod).Name)
	}
	return out
}

// createPods creates pods p00..p<n-1> in ns; even ones are on node n0 and
// labelled parity=even.
func createPods(t testing.TB, s *store.Store, ns string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		node, parity := "n1", "odd"
		if i%2 == 0 {
			node, parity = "n0", "even"
		}
		mustCreate(t, s, pod(ns, fmt.Sprintf("p%02d", i), node, map[string]string{"parity": parity}))
	}
}

func TestListFiltersBySelectors(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	createPods(t, s, "a", 6)
	createPods(t, s, "b", 2)
	even := labels.SelectorFromSet(labels.Set{"parity": "even"})
	tests := []struct {
		name   string
		prefix string
		pred   store.Predicate
		want   string
	}{
		{"everything in a namespace", pods.StorageKey("a", ""), store.Predicate{}, "[p00 p01 p02 p03 p04 p05]"},
		{"every namespace", pods.StorageKey("", ""), store.Predicate{}, "[p00 p01 p02 p03 p04 p05 p00 p01]"},
		{"a label selector", pods.StorageKey("a", ""), store.Predicate{Label: even, Attrs: podAttrs}, "[p00 p02 p04]"},
		{"a field selector", pods.StorageKey("", ""), store.Predicate{Field: fields.OneTermEqualSelector("spec.nodeName", "n1"), Attrs: podAttrs}, "[p01 p03 p05 p01]"},
		{"both", pods.StorageKey("", ""), store.Predicate{Label: even, Field: fields.OneTermEqualSelector("metadata.namespace", "b"), Attrs: podAttrs}, "[p00]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.List(ctx, tt.prefix, store.ListOptions{Predicate: tt.pred}, newPod)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			if got := fmt.Sprint(names(res)); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			if res.Continue != "" {
				t.Fatalf("got continue %q without a limit, want none", res.Continue)
			}
		})
	}
}

func TestListItemsCarryTheirOwnResourceVersionAndTheListTheRevision(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	a := mustCreate(t, s, pod("a", "x", "", nil))
	b := mustCreate(t, s, pod("a", "y", "", nil))
	res, err := s.List(ctx, pods.StorageKey("a", ""), store.ListOptions{}, newPod)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResourceVersion != rvOf(t, b) {
		t.Fatalf("got list revision %d, want %d", res.ResourceVersion, rvOf(t, b))
	}
	if got, want := rvOf(t, res.Items[0]), rvOf(t, a); got != want {
		t.Fatalf("got item revision %d, want %d", got, want)
	}
}

func TestListPagesReadAtOneRevisionWhileWritesHappen(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	createPods(t, s, "a", 10)
	opts := store.ListOptions{Limit: 3}
	var all []string
	var rev int64
	for page := 0; ; page++ {
		res, err := s.List(ctx, pods.StorageKey("a", ""), opts, newPod)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if page == 0 {
			rev = res.ResourceVersion
			if res.RemainingItemCount == nil || *res.RemainingItemCount != 7 {
				t.Fatalf("page 0: got remaining %v, want 7", res.RemainingItemCount)
			}
		} else if res.ResourceVersion != rev {
			t.Fatalf("page %d: got revision %d, want %d", page, res.ResourceVersion, rev)
		}
		if len(res.Items) > 3 {
			t.Fatalf("page %d: got %d items, want at most 3", page, len(res.Items))
		}
		all = append(all, names(res)...)
		// Writes between pages: a new pod, a deleted one, an updated one.
		mustCreate(t, s, pod("a", fmt.Sprintf("p%02d-new", page), "", nil))
		if page == 0 {
			if err := s.Delete(ctx, podKey("a", "p09"), nil, 0); err != nil {
				t.Fatal(err)
			}
		}
		if res.Continue == "" {
			break
		}
		opts.Continue = res.Continue
	}
	if got, want := fmt.Sprint(all), "[p00 p01 p02 p03 p04 p05 p06 p07 p08 p09]"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestListWithASelectorAndALimitFillsEveryPageButTheLast(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	createPods(t, s, "a", 20)
	pred := store.Predicate{Label: labels.SelectorFromSet(labels.Set{"parity": "odd"}), Attrs: podAttrs}
	opts := store.ListOptions{Limit: 4, Predicate: pred}
	var pages []string
	for {
		res, err := s.List(ctx, pods.StorageKey("a", ""), opts, newPod)
		if err != nil {
			t.Fatal(err)
		}
		if res.RemainingItemCount != nil {
			t.Fatalf("got a remaining count with a selector, want none")
		}
		pages = append(pages, fmt.Sprint(names(res)))
		if res.Continue == "" {
			break
		}
		opts.Continue = res.Continue
	}
	want := "[[p01 p03 p05 p07] [p09 p11 p13 p15] [p17 p19]]"
	if got := fmt.Sprint(pages); got != want {
		t.Fatalf("got pages %s, want %s", got, want)
	}
}

func TestListAtAnExactRevisionSeesThePast(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	a := mustCreate(t, s, pod("a", "x", "", nil))
	mustCreate(t, s, pod("a", "y", "", nil))
	res, err := s.List(ctx, pods.StorageKey("a", ""), store.ListOptions{ResourceVersion: a.ResourceVersion, Limit: 10}, newPod)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(names(res)); got != "[x]" || res.ResourceVersion != rvOf(t, a) {
		t.Fatalf("got %s at %d, want [x] at %d", got, res.ResourceVersion, rvOf(t, a))
	}
	// Without a limit, "N" means not older than N: the newest data.
	res, err = s.List(ctx, pods.StorageKey("a", ""), store.ListOptions{ResourceVersion: a.ResourceVersion}, newPod)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(names(res)); got != "[x y]" {
		t.Fatalf("got %s, want [x y]", got)
	}
	// Exact reads at N without a limit too, and pages nothing.
	res, err = s.List(ctx, pods.StorageKey("a", ""), store.ListOptions{ResourceVersion: a.ResourceVersion, Exact: true}, newPod)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(names(res)); got != "[x]" || res.ResourceVersion != rvOf(t, a) || res.Continue != "" {
		t.Fatalf("got %s at %d continuing %q, want [x] at %d and no continue token", got, res.ResourceVersion, res.Continue, rvOf(t, a))
	}
}

func TestListFailsOnACompactedRevisionOrAForeignToken(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	createPods(t, s, "a", 4)
	first, err := s.List(ctx, pods.StorageKey("a", ""), store.ListOptions{Limit: 2}, newPod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, pods.StorageKey("b", ""), store.ListOptions{Limit: 2, Continue: first.Continue}, newPod); !errors.Is(err, store.ErrInvalidContinue) {
		t.Fatalf("token of another prefix: got %v, want ErrInvalidContinue", err)
	}
	if _, err := s.List(ctx, pods.StorageKey("a", ""), store.ListOptions{Limit: 2, Continue: "not-a-token"}, newPod); !errors.Is(err, store.ErrInvalidContinue) {
		t.Fatalf("garbage token: got %v, want ErrInvalidContinue", err)
	}
	mustCreate(t, s, pod("a", "later", "", nil))
	rev, _ := s.Revision(ctx)
	if err := s.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, pods.StorageKey("a", ""), store.ListOptions{Limit: 2, Continue: first.Continue}, newPod); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("expired token: got %v, want ErrCompacted", err)
	}
	if _, err := s.List(ctx, pods.StorageKey("a", ""), store.ListOptions{Limit: 2, ResourceVersion: "2"}, newPod); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("compacted exact revision: got %v, want ErrCompacted", err)
	}
}

func TestCountCountsTheKeysUnderAPrefix(t *testing.T) {
	s := etcdtest.Start(t)
	createPods(t, s, "a", 5)
	createPods(t, s, "b", 2)
	for prefix, want := range map[string]int64{pods.StorageKey("a", ""): 5, pods.StorageKey("", ""): 7, pods.StorageKey("c", ""): 0} {
		if got, err := s.Count(ctxT(t), prefix); err != nil || got != want {
			t.Fatalf("count %s: got %d (%v), want %d", prefix, got, err, want)
		}
	}
}

func TestListOfANamespaceDoesNotReachANamespaceItPrefixes(t *testing.T) {
	s := etcdtest.Start(t)
	mustCreate(t, s, pod("a", "x", "", nil))
	mustCreate(t, s, pod("ab", "y", "", nil))
	res, err := s.List(ctxT(t), "/registry/core/pods/a", store.ListOptions{}, newPod)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(names(res)); got != "[x]" {
		t.Fatalf("got %s, want [x]", got)
	}
}
