package dir_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/navarch/navarch/sources/dir"
)

const testDebounce = 150 * time.Millisecond

// startWatch watches root until the test ends.
func startWatch(t *testing.T, root string) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := dir.Watch(ctx, root, testDebounce)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// countSignals counts the signals on ch until it stays quiet for a second.
func countSignals(ch <-chan struct{}) int {
	n := 0
	for {
		select {
		case <-ch:
			n++
		case <-time.After(time.Second):
			return n
		}
	}
}

func TestWatchMakesOneSignalPerBurst(t *testing.T) {
	tests := []struct {
		name  string
		setup map[string]string
		burst func(t *testing.T, root string)
	}{
		{"fifty writes across folders", nil, func(t *testing.T, root string) {
			for i := 0; i < 50; i++ {
				writeTree(t, root, map[string]string{fmt.Sprintf("apps/svc%d/deploy.yaml", i%5): fmt.Sprintf("n: %d\n", i)})
			}
		}},
		{"an editor's save by rename", map[string]string{"app.yaml": "v: 1\n"}, func(t *testing.T, root string) {
			tmp := filepath.Join(root, "app.yaml.tmp4913")
			must(t, os.WriteFile(tmp, []byte("v: 2\n"), 0o644))
			must(t, os.Rename(filepath.Join(root, "app.yaml"), filepath.Join(root, "app.yaml~")))
			must(t, os.Rename(tmp, filepath.Join(root, "app.yaml")))
			must(t, os.Remove(filepath.Join(root, "app.yaml~")))
		}},
		{"a delete of many files and folders", map[string]string{
			"a/1.yaml": "x", "a/2.yaml": "x", "a/b/3.yaml": "x", "c.yaml": "x", "d.yaml": "x",
		}, func(t *testing.T, root string) {
			must(t, os.RemoveAll(filepath.Join(root, "a")))
			must(t, os.Remove(filepath.Join(root, "c.yaml")))
			must(t, os.Remove(filepath.Join(root, "d.yaml")))
		}},
		{"a checkout replacing a tree", map[string]string{"old/a.yaml": "x"}, func(t *testing.T, root string) {
			must(t, os.RemoveAll(filepath.Join(root, "old")))
			for i := 0; i < 20; i++ {
				writeTree(t, root, map[string]string{fmt.Sprintf("new/deep/%d/x.yaml", i): "y"})
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, tt.setup)
			ch := startWatch(t, root)
			tt.burst(t, root)
			if got := countSignals(ch); got != 1 {
				t.Fatalf("got %d signals, want 1", got)
			}
		})
	}
}

func TestWatchSignalsOncePerSeparateBurst(t *testing.T) {
	root := t.TempDir()
	ch := startWatch(t, root)
	for i := 0; i < 3; i++ {
		for j := 0; j < 5; j++ {
			writeTree(t, root, map[string]string{fmt.Sprintf("f%d.yaml", j): fmt.Sprint(i)})
		}
		if got := countSignals(ch); got != 1 {
			t.Fatalf("burst %d: got %d signals, want 1", i, got)
		}
	}
}

func TestWatchFollowsFoldersCreatedLater(t *testing.T) {
	root := t.TempDir()
	ch := startWatch(t, root)
	must(t, os.MkdirAll(filepath.Join(root, "a/b/c"), 0o755))
	if got := countSignals(ch); got != 1 {
		t.Fatalf("creating a/b/c: got %d signals, want 1", got)
	}
	writeTree(t, root, map[string]string{"a/b/c/new.yaml": "kind: Service\n"})
	if got := countSignals(ch); got != 1 {
		t.Fatalf("writing in the new folder: got %d signals, want 1", got)
	}
}

func TestWatchIgnoresDotFilesAndPermissionChanges(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"app.yaml": "v: 1\n"})
	ch := startWatch(t, root)
	writeTree(t, root, map[string]string{".app.yaml.swp": "x", ".git/index": "y", "app.yaml~": "z"})
	must(t, os.Chmod(filepath.Join(root, "app.yaml"), 0o600))
	if got := countSignals(ch); got != 0 {
		t.Fatalf("got %d signals, want 0", got)
	}
}

func TestWatchSignalsDuringAnEndlessStream(t *testing.T) {
	root := t.TempDir()
	ch := startWatch(t, root)
	stop := time.Now().Add(4 * time.Second)
	got := 0
	for time.Now().Before(stop) {
		writeTree(t, root, map[string]string{"log.yaml": time.Now().String()})
		select {
		case <-ch:
			got++
		case <-time.After(testDebounce / 3):
		}
	}
	// The burst never pauses; it must still signal every 10 debounces
	// (1.5s), so at least twice in 4s.
	if got < 2 {
		t.Fatalf("got %d signals during a 4s stream, want at least 2", got)
	}
}

func TestWatchClosesTheChannelWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := dir.Watch(ctx, t.TempDir(), testDebounce)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("got a signal, want the channel closed")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("channel still open 2s after the context ended")
	}
}

func TestWatchOfAMissingFolderFails(t *testing.T) {
	_, err := dir.Watch(context.Background(), filepath.Join(t.TempDir(), "nope"), 0)
	if err == nil {
		t.Fatal("got no error, want one")
	}
}
