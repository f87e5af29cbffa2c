package reconciler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/sources/dir"
)

// syncCount is how many syncs the Source has run, whatever their result.
func (e *env) syncCount(key string) float64 {
	e.t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0.0
	for _, f := range families {
		if f.GetName() != "navarch_source_syncs_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "source" && l.GetValue() == key {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

func TestDirectorySourceSyncsOncePerBurstOfChanges(t *testing.T) {
	const debounce = 150 * time.Millisecond
	e := newEnv(t, func(o *Options) { o.DirDebounce = debounce })
	root := t.TempDir()
	manifests := filepath.Join(root, "manifests")
	write := func(name, value string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(manifests, name), []byte(fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {v: %q}\n", name[:len(name)-len(".yaml")], value)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	write("a.yaml", "1")

	src := &gitopsv1alpha1.Source{
		ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "navarch-system"},
		Spec: gitopsv1alpha1.SourceSpec{
			Directory: &gitopsv1alpha1.DirectorySource{Path: root}, Path: "manifests",
			Interval: metav1.Duration{Duration: time.Hour}, Prune: true,
		},
	}
	if _, err := e.sources.Create(t.Context(), src); err != nil {
		t.Fatal(err)
	}
	waitDirRevision := func(what string) {
		t.Helper()
		rev, _, err := dir.Snapshot(root, "manifests")
		if err != nil {
			t.Fatal(err)
		}
		e.waitSource("local", 20*time.Second, what+" applied", func(s *gitopsv1alpha1.Source) bool {
			c := findCondition(s, gitopsv1alpha1.ConditionReady)
			return s.Status.LastAppliedRevision == rev.ID && c != nil && c.Status == metav1.ConditionTrue
		})
		time.Sleep(4 * debounce) // a second sync of the same burst would come by now
	}
	waitDirRevision("the first snapshot")
	const key = "navarch-system/local"

	bursts := []struct {
		name string
		do   func()
		want map[string]string // ConfigMap → v, "" for absent
	}{
		{"writes of three files", func() {
			write("b.yaml", "1")
			write("c.yaml", "1")
			write("a.yaml", "2")
		}, map[string]string{"a": "2", "b": "1", "c": "1"}},
		{"an editor's save-by-rename", func() {
			tmp := filepath.Join(manifests, ".b.yaml.swp")
			if err := os.WriteFile(tmp, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {v: \"2\"}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(manifests, "b.yaml"), filepath.Join(manifests, "b.yaml~")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(manifests, "b.yaml")); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(manifests, "b.yaml~")); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"a": "2", "b": "2", "c": "1"}},
		{"deletes in a new folder and out", func() {
			sub := filepath.Join(manifests, "more")
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(sub, "d.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {v: \"1\"}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(manifests, "a.yaml")); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(manifests, "c.yaml")); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"a": "", "b": "2", "c": "", "d": "1"}},
	}
	for _, b := range bursts {
		before := e.syncCount(key)
		b.do()
		waitDirRevision(b.name)
		if got := e.syncCount(key) - before; got != 1 {
			t.Errorf("%s: got %v syncs, want 1", b.name, got)
		}
		for name, v := range b.want {
			cm := e.configMap("default", name)
			switch {
			case v == "" && cm != nil:
				t.Errorf("%s: ConfigMap %s still exists, want it pruned", b.name, name)
			case v != "" && (cm == nil || cm.Data["v"] != v):
				t.Errorf("%s: got ConfigMap %s = %v, want v=%s", b.name, name, cm, v)
			}
		}
	}

	// A link to a file outside the directory is refused, naming the link;
	// what was applied stays.
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(outside, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(manifests, "stolen.yaml")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	applied, err := e.sources.Get(t.Context(), "navarch-system", "local")
	if err != nil {
		t.Fatal(err)
	}
	src = e.waitSource("local", 20*time.Second, "the link refused", func(s *gitopsv1alpha1.Source) bool {
		c := findCondition(s, gitopsv1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == "InvalidSource"
	})
	if c := findCondition(src, gitopsv1alpha1.ConditionReady); !strings.Contains(c.Message, link) {
		t.Errorf("got Ready message %q, want it to name the link %s", c.Message, link)
	}
	if src.Status.LastAppliedRevision != applied.Status.LastAppliedRevision {
		t.Errorf("got applied revision %s, want %s to stay", src.Status.LastAppliedRevision, applied.Status.LastAppliedRevision)
	}
	if e.configMap("default", "stolen") != nil {
		t.Error("the ConfigMap behind the link was applied")
	}
	if cm := e.configMap("default", "b"); cm == nil {
		t.Error("ConfigMap b of the applied revision is gone")
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	waitDirRevision("the folder without the link")
}
