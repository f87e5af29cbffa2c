package reconciler

import (
	"context"
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

// smallTxns refuses transactions of more than max ops as etcd refuses
// oversized ones, and records the ops of each transaction it lets through.
type smallTxns struct {
	store *store.Store
	max   int
	txns  [][]string
}

func (s *smallTxns) Txn(ctx context.Context, ops []store.Op) (int64, error) {
	if len(ops) > s.max {
		return 0, fmt.Errorf("txn of %d ops: %w", len(ops), store.ErrTooLarge)
	}
	var keys []string
	for _, op := range ops {
		keys = append(keys, op.Key)
	}
	s.txns = append(s.txns, keys)
	return s.store.Txn(ctx, ops)
}

func TestPlanTooLargeForOneTransactionIsAppliedInOrderedStages(t *testing.T) {
	st := etcdtest.Start(t)
	ctx := context.Background()
	files := map[string][]byte{"ns.yaml": []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")}
	for i := 0; i < 5; i++ {
		files[fmt.Sprintf("cm-%d.yaml", i)] = []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: shop}\n", i))
	}
	files["svc.yaml"] = []byte("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n")
	objs, problems := Parse(files, ParseOptions{})
	problems = append(problems, Validate(objs)...)
	if len(problems) > 0 {
		t.Fatal(problems.Strings())
	}
	live, err := ReadLive(ctx, StoreReader{Store: st}, "navarch-system/shop", objs, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := MakePlan(PlanInput{Source: "navarch-system/shop", Desired: objs, Live: live})
	c := &smallTxns{store: st, max: 2}
	res, problems, err := Apply(ctx, &APIAdmitter{}, c, &plan)
	if err != nil || len(problems) > 0 {
		t.Fatalf("apply: %v %v", err, problems.Strings())
	}
	if !res.Staged() || res.Transactions != len(c.txns) || res.Ops != 7 {
		t.Errorf("got %+v over %d transactions, want 7 ops staged", res, len(c.txns))
	}
	if first := c.txns[0]; len(first) != 1 || first[0] != "/registry/core/namespaces/shop" {
		t.Errorf("got first transaction %v, want the namespace alone", first)
	}
	if last := c.txns[len(c.txns)-1]; len(last) != 1 || last[0] != "/registry/core/services/shop/web" {
		t.Errorf("got last transaction %v, want the service alone", last)
	}
	for _, o := range objs {
		k := o.Key()
		out := o.Resource.New()
		if err := st.Get(ctx, o.Resource.StorageKey(k.Namespace, k.Name), out); err != nil {
			t.Errorf("%s not stored: %v", k, err)
		}
	}
}

func TestApplyFailsWholeWhenAnObjectChangedSinceItWasRead(t *testing.T) {
	st := etcdtest.Start(t)
	ctx := context.Background()
	files := map[string][]byte{
		"a.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: \"1\"}\n"),
		"b.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {v: \"1\"}\n"),
	}
	apply := func(files map[string][]byte, between func()) (ApplyResult, error) {
		objs, _ := Parse(files, ParseOptions{})
		Validate(objs)
		nsObjs, _ := Parse(map[string][]byte{"ns.yaml": []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n")}, ParseOptions{})
		Validate(nsObjs)
		live, err := ReadLive(ctx, StoreReader{Store: st}, "navarch-system/shop", objs, nil)
		if err != nil {
			t.Fatal(err)
		}
		live[nsObjs[0].Key()] = nsObjs[0].Object // the namespace exists
		plan := MakePlan(PlanInput{Source: "navarch-system/shop", Desired: objs, Live: live})
		between()
		res, problems, err := Apply(ctx, &APIAdmitter{}, st, &plan)
		if len(problems) > 0 {
			t.Fatal(problems.Strings())
		}
		return res, err
	}
	if _, err := apply(files, func() {}); err != nil {
		t.Fatal(err)
	}
	files["a.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: \"2\"}\n")
	files["b.yaml"] = []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {v: \"2\"}\n")
	_, err := apply(files, func() {
		// Someone edits b between the plan and the transaction.
		key := "/registry/core/configmaps/default/b"
		var cur runtime.Object = mustGet(t, st, key)
		metaOf(cur).SetLabels(map[string]string{"edited": "yes"})
		if err := st.Update(ctx, key, cur); err != nil {
			t.Fatal(err)
		}
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("got %v, want a conflict", err)
	}
	if v := mustGet(t, st, "/registry/core/configmaps/default/a").Data["v"]; v != "1" {
		t.Errorf("got a.v=%s after the failed transaction, want 1: nothing of it may be written", v)
	}
}

func mustGet(t *testing.T, st *store.Store, key string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := st.Get(context.Background(), key, cm); err != nil {
		t.Fatal(err)
	}
	return cm
}
