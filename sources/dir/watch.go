package dir

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is the quiet time that ends a burst of file events.
const DefaultDebounce = 250 * time.Millisecond

// Watch signals on the returned channel after each burst of changes under
// root, recursively, including folders created later. A burst ends after
// debounce (DefaultDebounce when zero or negative) without events, or at
// the latest ten debounce periods after it began. The channel holds at most
// one pending signal and is closed when ctx ends, which also releases the
// watches. Watch fails when root is not a folder or cannot be watched.
func Watch(ctx context.Context, root string, debounce time.Duration) (<-chan struct{}, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w: %v", root, ErrNotFound, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("watch %s: %w: not a folder", root, ErrNotFound)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	if err := addTree(w, root); err != nil {
		w.Close()
		return nil, fmt.Errorf("watch %s: %w", root, err)
	}
	out := make(chan struct{}, 1)
	go (&watcher{w: w, out: out, debounce: debounce, maxWait: 10 * debounce}).run(ctx)
	return out, nil
}

// watcher turns raw fsnotify events into debounced signals.
type watcher struct {
	w                 *fsnotify.Watcher
	out               chan struct{} // capacity 1: signals coalesce
	debounce, maxWait time.Duration
}

func (x *watcher) run(ctx context.Context) {
	defer close(x.out)
	defer x.w.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		pending    bool
		burstStart time.Time
	)
	arm := func() {
		now := time.Now()
		if !pending {
			pending, burstStart = true, now
		}
		wait := x.debounce
		if left := burstStart.Add(x.maxWait).Sub(now); left < wait {
			wait = left
		}
		timer.Reset(wait)
	}
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case ev, ok := <-x.w.Events:
			if !ok {
				return
			}
			if x.relevant(ev) {
				arm()
			}
		case _, ok := <-x.w.Errors:
			if !ok {
				return
			}
			arm() // an overflow lost events: have the consumer look again
		case <-timer.C:
			pending = false
			select {
			case x.out <- struct{}{}:
			default: // one is pending already
			}
		}
	}
}

// relevant reports whether ev can change a snapshot, and starts watching
// folders that appear.
func (x *watcher) relevant(ev fsnotify.Event) bool {
	if Ignored(filepath.Base(ev.Name)) || ev.Op == fsnotify.Chmod {
		return false
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
			_ = addTree(x.w, ev.Name) // vanished meanwhile: its removal is an event too
		}
	}
	return true
}

// addTree watches dir and every folder below it, except ignored ones.
// Symbolic links are not followed.
func addTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // removed while walking
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && Ignored(d.Name()) {
			return filepath.SkipDir
		}
		return w.Add(p)
	})
}
