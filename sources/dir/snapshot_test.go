package dir_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/navarch/navarch/sources/dir"
)

// writeTree creates files (slash path → content) under root.
func writeTree(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func snapshot(t *testing.T, root, path string) (dir.Revision, map[string][]byte) {
	t.Helper()
	rev, files, err := dir.Snapshot(root, path)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return rev, files
}

func TestSnapshotReadsTheFilesUnderAPath(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"deploy/web/deployment.yaml": "kind: Deployment\n",
		"deploy/ns.yaml":             "kind: Namespace\n",
		"deploy/.hidden.yaml":        "ignored\n",
		"deploy/ns.yaml~":            "backup\n",
		"deploy/.git/config":         "ignored\n",
		"README.md":                  "docs\n",
	})
	rev, files := snapshot(t, root, "deploy")
	want := map[string][]byte{
		"web/deployment.yaml": []byte("kind: Deployment\n"),
		"ns.yaml":             []byte("kind: Namespace\n"),
	}
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("got %q, want %q", files, want)
	}
	if !strings.HasPrefix(rev.ID, "sha256:") || len(rev.ID) != len("sha256:")+64 {
		t.Errorf("got ID %q, want sha256:<64 hex>", rev.ID)
	}
	if rev.Files != 2 || rev.Time.IsZero() {
		t.Errorf("got %d files at %v, want 2 at a modification time", rev.Files, rev.Time)
	}
}

func TestSnapshotIDDependsOnContentAlone(t *testing.T) {
	base := map[string]string{"a.yaml": "a: 1\n", "sub/b.yaml": "b: 1\n"}
	root := t.TempDir()
	writeTree(t, root, base)
	rev, _ := snapshot(t, root, "")

	tests := []struct {
		name   string
		change func(t *testing.T, root string)
		same   bool
	}{
		{"rewriting the same content keeps the ID", func(t *testing.T, root string) {
			writeTree(t, root, base)
			later := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(root, "a.yaml"), later, later)
		}, true},
		{"an ignored file keeps the ID", func(t *testing.T, root string) {
			writeTree(t, root, map[string]string{".a.yaml.swp": "x", "a.yaml~": "y"})
		}, true},
		{"a changed byte changes the ID", func(t *testing.T, root string) {
			writeTree(t, root, map[string]string{"a.yaml": "a: 2\n"})
		}, false},
		{"a renamed file changes the ID", func(t *testing.T, root string) {
			os.Rename(filepath.Join(root, "a.yaml"), filepath.Join(root, "c.yaml"))
		}, false},
		{"moving content between files changes the ID", func(t *testing.T, root string) {
			writeTree(t, root, map[string]string{"a.yaml": "a: 1\nb", "sub/b.yaml": ": 1\n"})
		}, false},
		{"a new empty file changes the ID", func(t *testing.T, root string) {
			writeTree(t, root, map[string]string{"empty.yaml": ""})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, base)
			tt.change(t, root)
			got, _ := snapshot(t, root, "")
			if same := got.ID == rev.ID; same != tt.same {
				t.Fatalf("got ID %s (same: %v), want same: %v", got.ID, same, tt.same)
			}
		})
	}
}

func TestSnapshotFollowsSymlinksInsideTheRoot(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"shared/base.yaml": "kind: ConfigMap\n", "deploy/app.yaml": "kind: Service\n"})
	must(t, os.Symlink("../shared/base.yaml", filepath.Join(root, "deploy/base.yaml")))
	must(t, os.Symlink("../shared", filepath.Join(root, "deploy/common")))
	must(t, os.Symlink("..", filepath.Join(root, "deploy/loop")))

	_, files := snapshot(t, root, "deploy")
	for _, name := range []string{"app.yaml", "base.yaml", "common/base.yaml"} {
		if _, ok := files[name]; !ok {
			t.Errorf("got files %v, want %s among them", keys(files), name)
		}
	}
}

func TestSnapshotRefusesSymlinksLeavingTheRoot(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"secret.yaml": "kind: Secret\n"})
	tests := []struct {
		name   string
		target string
	}{
		{"an absolute link to a file elsewhere", filepath.Join(outside, "secret.yaml")},
		{"a relative link climbing out", "../../" + filepath.Base(outside) + "/secret.yaml"},
		{"a link to a folder elsewhere", outside},
		{"a dangling link", "missing.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(filepath.Dir(outside), "root-"+strings.ReplaceAll(tt.name, " ", "-"))
			writeTree(t, root, map[string]string{"deploy/app.yaml": "kind: Service\n"})
			t.Cleanup(func() { os.RemoveAll(root) })
			must(t, os.Symlink(tt.target, filepath.Join(root, "deploy/evil.yaml")))

			_, _, err := dir.Snapshot(root, "")
			if !errors.Is(err, dir.ErrSymlinkOutside) {
				t.Fatalf("got %v, want ErrSymlinkOutside", err)
			}
			if !strings.Contains(err.Error(), filepath.Join(root, "deploy/evil.yaml")) {
				t.Errorf("got message %q, want it to name the link", err)
			}
		})
	}
}

func TestSnapshotRefusesBadPaths(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"deploy/a.yaml": "a: 1\n"})
	must(t, os.Symlink(t.TempDir(), filepath.Join(root, "away")))
	tests := []struct {
		root, path string
		want       error
	}{
		{root, "missing", dir.ErrNotFound},
		{root, "deploy/a.yaml", dir.ErrNotFound},
		{filepath.Join(root, "nope"), "", dir.ErrNotFound},
		{root, "../etc", dir.ErrInvalidPath},
		{root, "away", dir.ErrSymlinkOutside},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if _, _, err := dir.Snapshot(tt.root, tt.path); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSnapshotOfARootThatIsASymlink(t *testing.T) {
	real := t.TempDir()
	writeTree(t, real, map[string]string{"a.yaml": "a: 1\n"})
	link := filepath.Join(t.TempDir(), "manifests")
	must(t, os.Symlink(real, link))
	_, files := snapshot(t, link, "")
	if string(files["a.yaml"]) != "a: 1\n" {
		t.Fatalf("got %q, want a.yaml", files)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
