package reconciler

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"

	"github.com/navarch/navarch/sources/dir"
	"github.com/navarch/navarch/sources/git"
	"github.com/navarch/navarch/store"
)

// Defaults of Options.
const (
	// DefaultWorkers is how many Sources sync at once.
	DefaultWorkers = 4
	// DefaultHealthPoll is how often the availability of a revision's
	// workloads is looked at while it is awaited, besides the Deployment
	// events that trigger a look at once.
	DefaultHealthPoll = 2 * time.Second
	// DefaultMaxRetryDelay caps the back-off of a Source whose sync failed
	// (a store conflict, an unreachable API).
	DefaultMaxRetryDelay = 30 * time.Second
)

// Options configures a Controller.
type Options struct {
	// Store is where revisions are written, in one transaction each, and
	// where live objects are read for planning. Required.
	Store *store.Store
	// Config reaches the API server: Sources (informer, status), Secrets
	// (credentials, webhook tokens) and Deployments (health). Required.
	Config *rest.Config
	// DataDir holds the Git cache, in DataDir/sources/git, unless GitCache
	// is given. One of them is required.
	DataDir string
	// GitCache is the cache of clones; nil creates one under DataDir.
	GitCache *git.Cache
	// Admitter admits every write; nil means &APIAdmitter{Now: Now}. The
	// API server passes its own, with allocations.
	Admitter Admitter
	// Logger receives the controller's messages; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Workers: see DefaultWorkers; 0 means that.
	Workers int
	// DirDebounce is the quiet time ending a burst of file events of a
	// directory Source; 0 means dir.DefaultDebounce.
	DirDebounce time.Duration
	// HealthPoll: see DefaultHealthPoll; 0 means that.
	HealthPoll time.Duration
	// MaxRetryDelay: see DefaultMaxRetryDelay; 0 means that.
	MaxRetryDelay time.Duration
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.DirDebounce == 0 {
		o.DirDebounce = dir.DefaultDebounce
	}
	if o.HealthPoll == 0 {
		o.HealthPoll = DefaultHealthPoll
	}
	if o.MaxRetryDelay == 0 {
		o.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if o.Admitter == nil {
		o.Admitter = &APIAdmitter{Now: o.Now}
	}
	return o
}

// Validate reports what is missing or out of range (after defaults).
func (o Options) Validate() error {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if o.Config == nil {
		errs = append(errs, errors.New("API client config is required"))
	}
	if o.GitCache == nil && o.DataDir == "" {
		errs = append(errs, errors.New("data dir (or a git cache) is required"))
	}
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers %d is negative", o.Workers))
	}
	if o.DirDebounce < 0 || o.HealthPoll < 0 || o.MaxRetryDelay < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	return errors.Join(errs...)
}

// GitCacheDir is where a data dir keeps the reconciler's Git clones.
func GitCacheDir(dataDir string) string { return filepath.Join(dataDir, "sources", "git") }
