package git

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// DefaultTimeout bounds a remote call whose context has no deadline.
const DefaultTimeout = 60 * time.Second

// Options configure a Cache.
type Options struct {
	// Dir holds one bare clone per repository URL; required. The reconciler
	// uses <data-dir>/sources/git.
	Dir string
	// Timeout bounds each remote call whose context carries no deadline.
	// Defaults to DefaultTimeout.
	Timeout time.Duration
	// Now is the clock for commits this package writes; defaults to
	// time.Now.
	Now func() time.Time
}

// Validate reports missing or impossible settings.
func (o Options) Validate() error {
	if o.Dir == "" {
		return errors.New("git cache: Dir is required")
	}
	if o.Timeout < 0 {
		return fmt.Errorf("git cache: Timeout %s is negative", o.Timeout)
	}
	return nil
}

func (o *Options) defaults() {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Cache keeps bare clones of the repositories Sources follow, one per URL
// under Options.Dir in a directory named by a hash of the URL (without its
// user information). Operations on one URL are serialized by a lock; on
// different URLs they run in parallel. A Cache is safe for concurrent use.
//
// History: branches are fetched with their full history, because rollback
// walks it and because every fetch after the first then transfers only new
// objects. A repository first fetched for a tag is fetched shallow (depth
// 1), since a pinned tag needs no history; when the same repository later
// needs history (a branch, a commit, a revert) its shallow clone is
// replaced by a full one. Once full, a clone stays full.
type Cache struct {
	opts Options

	mu    sync.Mutex
	repos map[string]*entry
}

// entry is one repository's clone and the lock serializing its use.
type entry struct {
	mu   sync.Mutex
	dir  string
	repo *gogit.Repository
}

// New returns a Cache storing clones under opts.Dir, creating it.
func New(opts Options) (*Cache, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.defaults()
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("git cache: %w", err)
	}
	return &Cache{opts: opts, repos: map[string]*entry{}}, nil
}

// lock returns url's entry, locked; the caller unlocks e.mu.
func (c *Cache) lock(url string) *entry {
	key := cacheKey(url)
	c.mu.Lock()
	e, ok := c.repos[key]
	if !ok {
		e = &entry{dir: filepath.Join(c.opts.Dir, key)}
		c.repos[key] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	return e
}

// open opens (or creates) the bare clone of url. Called with e.mu held.
func (e *entry) open(url string) (*gogit.Repository, error) {
	if e.repo != nil {
		return e.repo, nil
	}
	repo, err := gogit.PlainOpen(e.dir)
	if err != nil {
		// Missing or unreadable (an interrupted first clone): start afresh.
		if err := os.RemoveAll(e.dir); err != nil {
			return nil, fmt.Errorf("reset clone of %s: %w", redactURL(url), err)
		}
		repo, err = gogit.PlainInit(e.dir, true)
		if err != nil {
			return nil, fmt.Errorf("init clone of %s: %w", redactURL(url), err)
		}
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{redactURL(url)}}); err != nil {
			return nil, fmt.Errorf("init clone of %s: %w", redactURL(url), err)
		}
	}
	e.repo = repo
	return repo, nil
}

// Forget removes the clone of url, for a Source that was deleted. The next
// Fetch of url clones it again.
func (c *Cache) Forget(url string) error {
	e := c.lock(url)
	defer e.mu.Unlock()
	return e.reset(url)
}

// reset removes the clone, so that the next open starts empty.
func (e *entry) reset(url string) error {
	e.repo = nil
	if err := os.RemoveAll(e.dir); err != nil {
		return fmt.Errorf("reset clone of %s: %w", redactURL(url), err)
	}
	return nil
}

// isShallow reports whether the clone lacks history.
func isShallow(repo *gogit.Repository) bool {
	s, err := repo.Storer.Shallow()
	return err == nil && len(s) > 0
}

// isEmpty reports whether the clone holds no reference yet.
func isEmpty(repo *gogit.Repository) bool {
	refs, err := repo.References()
	if err != nil {
		return true
	}
	defer refs.Close()
	empty := true
	_ = refs.ForEach(func(r *plumbing.Reference) error {
		if r.Name().IsBranch() || r.Name().IsTag() {
			empty = false
		}
		return nil
	})
	return empty
}

// withTimeout applies Options.Timeout when ctx has no deadline.
func (c *Cache) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.opts.Timeout)
}

// remaining is the time left before ctx's deadline.
func remaining(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return 0
}
