package reconciler

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// planCase is one file of testdata/plan: a Source's previous revision
// (applied through the real pipeline to make the live objects), objects
// changed or added by hand, and the new revision.
type planCase struct {
	Source string `json:"source"`
	Prune  bool   `json:"prune"`
	// Applied is the previous revision (path → manifest), applied to an
	// empty store to make the live objects and the inventory.
	Applied map[string]string `json:"applied"`
	// Live is YAML documents stored over (or besides) what Applied made.
	Live string `json:"live"`
	// Edits are strategic merge patches applied to live objects, by key
	// ("Kind namespace/name"), as a change by hand or by a controller.
	Edits map[string]any `json:"edits"`
	// Deleted keys ("Kind namespace/name") are removed from the live
	// objects, as by hand.
	Deleted []string `json:"deleted"`
	// Files is the new revision.
	Files map[string]string `json:"files"`
}

func TestPlanMatchesGoldenFiles(t *testing.T) {
	cases, err := filepath.Glob("testdata/plan/*.yaml")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no plan cases: %v", err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			var pc planCase
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(data, &pc); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if pc.Source == "" {
				pc.Source = "navarch-system/shop"
			}
			got := runPlanCase(t, pc)
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("plan of %s differs from %s:\ngot:\n%s\nwant:\n%s", path, golden, got, want)
			}
		})
	}
}

// runPlanCase returns the plan's summary followed by its diff.
func runPlanCase(t *testing.T, pc planCase) string {
	t.Helper()
	live := map[ObjectKey]runtime.Object{}
	var inventory []gitopsv1alpha1.InventoryEntry
	if len(pc.Applied) > 0 {
		prev := mustPlan(t, pc.Source, toFiles(pc.Applied), nil, nil, false)
		applyToMap(t, prev, live)
		inventory = prev.Inventory
	}
	if pc.Live != "" {
		objs, problems := Parse(map[string][]byte{"live.yaml": []byte(pc.Live)}, ParseOptions{})
		if len(problems) > 0 {
			t.Fatalf("live objects: %v", problems.Strings())
		}
		for i, o := range objs {
			m := metaOf(o.Object)
			if m.GetResourceVersion() == "" {
				m.SetResourceVersion(strconv.Itoa(100 + i))
			}
			live[o.Key()] = o.Object
		}
	}
	for k, patch := range pc.Edits {
		key := findKey(t, live, k)
		live[key] = patchObject(t, live[key], patch)
	}
	for _, k := range pc.Deleted {
		found := false
		for key := range live {
			if key.String() == k {
				delete(live, key)
				found = true
			}
		}
		if !found {
			t.Fatalf("deleted: no live %s", k)
		}
	}
	plan := mustPlan(t, pc.Source, toFiles(pc.Files), live, inventory, pc.Prune)
	diff, err := plan.Diff()
	if err != nil {
		t.Fatalf("diff: %v", err)
	}
	return plan.String() + "\n" + diff
}

func toFiles(m map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}

// mustPlan parses, validates and plans files, failing on parse or
// validation problems (plan problems are part of the result).
func mustPlan(t *testing.T, source string, files map[string][]byte, live map[ObjectKey]runtime.Object, inv []gitopsv1alpha1.InventoryEntry, prune bool) Plan {
	t.Helper()
	objs, problems := Parse(files, ParseOptions{})
	problems = append(problems, Validate(objs)...)
	if len(problems) > 0 {
		t.Fatalf("revision invalid: %v", problems.Strings())
	}
	if live == nil {
		live = map[ObjectKey]runtime.Object{}
	}
	addSystemNamespaces(t, live)
	return MakePlan(PlanInput{Source: source, Desired: objs, Live: live, Inventory: inv, Prune: prune})
}

// addSystemNamespaces puts the namespaces every server has into live.
func addSystemNamespaces(t *testing.T, live map[ObjectKey]runtime.Object) {
	t.Helper()
	for _, ns := range []string{"default", "navarch-system"} {
		k := ObjectKey{Kind: "Namespace", Name: ns}
		if _, ok := live[k]; ok {
			continue
		}
		objs, _ := Parse(map[string][]byte{"ns.yaml": []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n")}, ParseOptions{})
		Validate(objs)
		obj := objs[0].Object
		admitFixed(t, ActionCreate, objs[0].Resource, obj, nil)
		live[k] = obj
	}
}

// applyToMap admits a plan's creates with a fixed clock and puts the
// results into live, as a store would hold them.
func applyToMap(t *testing.T, plan Plan, live map[ObjectKey]runtime.Object) {
	t.Helper()
	for _, c := range plan.Changes {
		if c.Action != ActionCreate {
			t.Fatalf("applied revision: unexpected %s %s", c.Action, c.Key)
		}
		admitFixed(t, c.Action, c.Resource, c.Object, nil)
		live[c.Key] = c.Object
	}
}

// admitFixed admits obj with a fixed clock, uid and resourceVersion.
func admitFixed(t *testing.T, action Action, res api.Resource, obj, old runtime.Object) {
	t.Helper()
	adm := &APIAdmitter{Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
	if _, err := adm.Admit(context.Background(), action, res, obj, old); err != nil {
		t.Fatalf("admit %s: %v", res.Kind, err)
	}
	m := metaOf(obj)
	m.SetUID(types.UID("uid-" + m.GetName()))
	m.SetResourceVersion("10")
}

// findKey returns the key of live named k ("Kind namespace/name").
func findKey(t *testing.T, live map[ObjectKey]runtime.Object, k string) ObjectKey {
	t.Helper()
	for key := range live {
		if key.String() == k {
			return key
		}
	}
	t.Fatalf("no live %s", k)
	return ObjectKey{}
}

// patchObject applies a strategic merge patch to a copy of obj.
func patchObject(t *testing.T, obj runtime.Object, patch any) runtime.Object {
	t.Helper()
	orig, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(patch)
	if err != nil {
		t.Fatal(err)
	}
	out, err := strategicpatch.StrategicMergePatch(orig, p, obj)
	if err != nil {
		t.Fatalf("patch: %v", err)
	}
	res, err := api.ResourceFor(obj)
	if err != nil {
		t.Fatal(err)
	}
	next := res.New()
	if err := json.Unmarshal(out, next); err != nil {
		t.Fatal(err)
	}
	return next
}
