package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/log"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/navarch/navarch/kubelet"
	"github.com/navarch/navarch/kubelet/network"
)

// DefaultNamespace is the containerd namespace navarch keeps its objects in.
const DefaultNamespace = "navarch"

// Options configure a Runtime.
type Options struct {
	// Address is the containerd socket. Required.
	Address string
	// Namespace in containerd; default DefaultNamespace.
	Namespace string
	// StateDir holds per-sandbox files (/etc/hosts), exec FIFOs and runc's
	// state. It must survive kubelet restarts. Required.
	StateDir string
	// Network wires pod network namespaces. Without it the runtime manages
	// images only (navarch image import/ls) and RunPodSandbox fails.
	Network *network.Manager
	// Snapshotter; empty picks overlayfs when containerd loaded it, else
	// native.
	Snapshotter string
	// CgroupParent is the cgroup under which each pod gets its own
	// (<parent>/pod-<sandbox id>/<container id>); default "/navarch".
	CgroupParent string
	// InsecureRegistries are registry hosts (host:port) pulled over plain
	// HTTP; loopback registries always are.
	InsecureRegistries []string
	// DialTimeout bounds connecting to containerd; default 10s.
	DialTimeout time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.CgroupParent == "" {
		o.CgroupParent = "/navarch"
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Validate reports what is wrong with the options.
func (o Options) Validate() error {
	switch {
	case o.Address == "":
		return errors.New("containerd runtime: Address is required")
	case o.StateDir == "" || !filepath.IsAbs(o.StateDir):
		return fmt.Errorf("containerd runtime: StateDir %q must be an absolute path", o.StateDir)
	}
	return nil
}

// Runtime is kubelet.Runtime on containerd.
type Runtime struct {
	opts   Options
	client *containerd.Client
	net    *network.Manager
	snap   string
	quiet  *log.Entry
	locks  keyedLocks
	pulls  pullGroup
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

var (
	_ kubelet.Runtime            = (*Runtime)(nil)
	_ kubelet.CapabilityReporter = (*Runtime)(nil)
)

// New connects to containerd at opts.Address, picks the snapshotter and
// starts watching task exits (recording exit codes and releasing shims).
// It returns an error wrapping kubelet.ErrUnavailable when containerd does
// not answer. Close releases it.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	opts.defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	for _, d := range []string{"sandboxes", "fifo", "runc"} {
		if err := os.MkdirAll(filepath.Join(opts.StateDir, d), 0o711); err != nil {
			return nil, fmt.Errorf("containerd runtime: %w", err)
		}
	}
	client, err := containerd.New(opts.Address, containerd.WithTimeout(opts.DialTimeout),
		containerd.WithDefaultNamespace(opts.Namespace))
	if err != nil {
		return nil, fmt.Errorf("%w: connect containerd %s: %w", kubelet.ErrUnavailable, opts.Address, err)
	}
	r := &Runtime{opts: opts, client: client, net: opts.Network, done: make(chan struct{}), quiet: quietLogger()}
	ctx = r.ns(ctx)
	if err := r.Ping(ctx); err != nil {
		client.Close()
		return nil, err
	}
	if r.snap, err = r.pickSnapshotter(ctx); err != nil {
		client.Close()
		return nil, err
	}
	wctx, cancel := context.WithCancel(r.ns(context.Background()))
	r.cancel = cancel
	go r.watchExits(wctx)
	return r, nil
}

// Close stops watching exits and closes the connection. Containers keep
// running. Close is idempotent.
func (r *Runtime) Close() error {
	var err error
	r.once.Do(func() {
		r.cancel()
		<-r.done
		err = r.client.Close()
	})
	return err
}

// Snapshotter is the snapshotter in use.
func (r *Runtime) Snapshotter() string { return r.snap }

// Capabilities: real processes and real pod networking.
func (r *Runtime) Capabilities() kubelet.Capabilities {
	return kubelet.Capabilities{Processes: true, Network: true}
}

// Version reports containerd's version.
func (r *Runtime) Version(ctx context.Context) (kubelet.VersionInfo, error) {
	v, err := r.client.Version(r.ns(ctx))
	if err != nil {
		return kubelet.VersionInfo{}, mapErr(err)
	}
	return kubelet.VersionInfo{RuntimeName: "containerd", RuntimeVersion: v.Version, APIVersion: "v1"}, nil
}

// Ping checks that containerd answers, within DialTimeout: it fails fast
// (no waiting for a reconnect) so it can serve as the node's health check.
func (r *Runtime) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(r.ns(ctx), r.opts.DialTimeout)
	defer cancel()
	if _, err := r.client.Version(ctx); err != nil {
		return fmt.Errorf("%w: containerd: %w", kubelet.ErrUnavailable, err)
	}
	return nil
}

func (r *Runtime) pickSnapshotter(ctx context.Context) (string, error) {
	if r.opts.Snapshotter != "" {
		return r.opts.Snapshotter, nil
	}
	resp, err := r.client.IntrospectionService().Plugins(ctx, "type==io.containerd.snapshotter.v1")
	if err != nil {
		return "", fmt.Errorf("containerd runtime: list snapshotters: %w", mapErr(err))
	}
	for _, want := range []string{"overlayfs", "native"} {
		for _, p := range resp.Plugins {
			if p.ID == want && p.InitErr == nil {
				return want, nil
			}
		}
	}
	return "", fmt.Errorf("containerd runtime: neither overlayfs nor native snapshotter is loaded")
}

// ns puts the namespace, and a logger silencing the containerd client
// library's own logging (navarch logs through slog), into ctx.
func (r *Runtime) ns(ctx context.Context) context.Context {
	return log.WithLogger(namespaces.WithNamespace(ctx, r.opts.Namespace), r.quiet)
}

func quietLogger() *log.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.PanicLevel)
	return logrus.NewEntry(l)
}

// mapErr adds the kubelet sentinel matching a containerd error.
func mapErr(err error) error {
	err = native(err)
	switch {
	case err == nil:
		return nil
	case errdefs.IsNotFound(err):
		return fmt.Errorf("%w: %w", kubelet.ErrNotFound, err)
	case errdefs.IsAlreadyExists(err):
		return fmt.Errorf("%w: %w", kubelet.ErrAlreadyExists, err)
	case errdefs.IsUnavailable(err) || status.Code(err) == codes.Unavailable:
		return fmt.Errorf("%w: %w", kubelet.ErrUnavailable, err)
	}
	return err
}

// native converts a raw gRPC error (from the task service) to containerd's
// error classes; other errors are returned as they are.
func native(err error) error {
	if _, ok := status.FromError(err); ok && err != nil {
		return errgrpc.ToNative(err)
	}
	return err
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// keyedLocks serializes work on one container or sandbox id.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	refs int
}

func (k *keyedLocks) lock(id string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[id]
	if l == nil {
		l = &keyedLock{}
		k.locks[id] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, id)
		}
		k.mu.Unlock()
	}
}
