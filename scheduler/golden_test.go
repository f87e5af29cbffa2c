package scheduler

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the .golden files under testdata/")

// goldenCase is one testdata/*.yaml file: a cluster and a pod to place.
type goldenCase struct {
	Nodes      []*corev1.Node               `json:"nodes"`
	Pods       []*corev1.Pod                `json:"pods"`
	Namespaces map[string]map[string]string `json:"namespaces"`
	Pod        *corev1.Pod                  `json:"pod"`
	Seed       uint64                       `json:"seed"`
}

// TestGolden schedules each testdata case and compares the decision (or the
// FitError message) and every node's verdict with the .golden file.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.yaml cases")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			got := runGolden(t, file)
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read %s: %v (run go test -run TestGolden -update)", golden, err)
			}
			if got != string(want) {
				t.Errorf("%s differs:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func runGolden(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var gc goldenCase
	if err := yaml.UnmarshalStrict(raw, &gc); err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	if gc.Pod == nil {
		t.Fatalf("%s: no pod to schedule", file)
	}
	if gc.Pod.Namespace == "" {
		gc.Pod.Namespace = "default"
	}
	for _, p := range gc.Pods {
		if p.Namespace == "" {
			p.Namespace = "default"
		}
	}
	snap, err := NewSnapshot(gc.Nodes, gc.Pods)
	if err != nil {
		t.Fatal(err)
	}
	for ns, l := range gc.Namespaces {
		snap.SetNamespaceLabels(ns, l)
	}
	s, err := New(Options{Seed: gc.Seed})
	if err != nil {
		t.Fatal(err)
	}
	verdicts, chosen, err := s.Explain(snap, gc.Pod)
	if err != nil {
		t.Fatal(err)
	}
	res, fitErr := s.Schedule(snap, gc.Pod)

	var b strings.Builder
	fmt.Fprintf(&b, "pod %s/%s\n", gc.Pod.Namespace, gc.Pod.Name)
	if fitErr != nil {
		fmt.Fprintf(&b, "unschedulable: %s\n", fitErr.Error())
		if chosen != "" {
			t.Errorf("Schedule found no node but Explain chose %s", chosen)
		}
		checkFitErrorMatchesVerdicts(t, fitErr, verdicts)
	} else {
		fmt.Fprintf(&b, "%s\n", res)
		if res.NodeName != chosen {
			t.Errorf("Schedule chose %s but Explain chose %s", res.NodeName, chosen)
		}
	}
	b.WriteString("nodes:\n")
	for _, v := range verdicts {
		if v.Plugin != "" {
			fmt.Fprintf(&b, "  %s: refused by %s: %s\n", v.Node, v.Plugin, strings.Join(v.Reasons, "; "))
			continue
		}
		parts := make([]string, 0, len(v.Scores))
		for _, sc := range v.Scores {
			parts = append(parts, fmt.Sprintf("%s=%d", sc.Plugin, sc.Score))
		}
		fmt.Fprintf(&b, "  %s: feasible, total %d [%s]\n", v.Node, v.Total, strings.Join(parts, " "))
	}
	return b.String()
}

// checkFitErrorMatchesVerdicts: the FitError names the same refusals as
// the exhaustive Explain.
func checkFitErrorMatchesVerdicts(t *testing.T, fe *FitError, verdicts []NodeVerdict) {
	t.Helper()
	var got, want []string
	for n, r := range fe.NodeReasons {
		got = append(got, n+": "+strings.Join(r, "; "))
	}
	for _, v := range verdicts {
		want = append(want, v.Node+": "+strings.Join(v.Reasons, "; "))
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("FitError reasons:\n%s\nwant (from Explain):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
