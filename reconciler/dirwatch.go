package reconciler

import (
	"context"
	"path/filepath"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/sources/dir"
)

// watchDir keeps one fsnotify watch on a directory Source's folder
// (directory path joined with spec.path): each debounced burst of changes
// triggers a fetch and sync. A watch of a folder the Source no longer
// follows is stopped. A folder that cannot be watched (it does not exist
// yet) is tried again on the next reconcile; the fetch says what is wrong.
func (c *Controller) watchDir(key string, src *gitopsv1alpha1.Source, st *sourceState) {
	want := ""
	if d := src.Spec.Directory; d != nil {
		want = filepath.Join(d.Path, filepath.FromSlash(src.Spec.Path))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.dirPath == want && (want == "" || st.dirCancel != nil) {
		return
	}
	if st.dirCancel != nil {
		st.dirCancel()
		st.dirCancel, st.dirPath = nil, ""
	}
	if want == "" || c.runCtx == nil {
		return
	}
	ctx, cancel := context.WithCancel(c.runCtx)
	events, err := dir.Watch(ctx, want, c.opts.DirDebounce)
	if err != nil {
		cancel()
		c.log.Warn("watch directory", "source", key, "error", err)
		return
	}
	st.dirPath, st.dirCancel = want, cancel
	go func() {
		for range events {
			c.log.Debug("directory changed", "source", key, "path", want)
			c.Trigger(key)
		}
	}()
}

// stopDirWatches ends every directory watch.
func (c *Controller) stopDirWatches() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.states {
		if st.dirCancel != nil {
			st.dirCancel()
			st.dirCancel, st.dirPath = nil, ""
		}
	}
}
