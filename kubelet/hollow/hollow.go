package hollow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/navarch/navarch/kubelet"
	"github.com/navarch/navarch/kubelet/memruntime"
)

// Options configure a set of hollow nodes.
type Options struct {
	// Count is how many nodes to run. Required, at least 1.
	Count int
	// NamePrefix starts each node's name; nodes are <prefix><index>.
	// Default "hollow-node-".
	NamePrefix string
	// Client talks to the API server as an admin. Required.
	Client kubernetes.Interface
	// StartDelay is how long a started container stays created before it
	// runs (0: at once).
	StartDelay time.Duration
	// DataDir holds each node's pod folders (DataDir/<node>); default a
	// new temporary folder, removed by Stop.
	DataDir string
	// Machine is each node's machine; default 4 cores and 16 GiB.
	Machine kubelet.MachineInfo
	// Behave says what commands do (memruntime.Options.Behave); default:
	// containers run until stopped.
	Behave func(argv []string) memruntime.Behavior
	// Kubelet, when set, adjusts each node's kubelet options.
	Kubelet func(*kubelet.Options)
	// Logger; default: warnings and errors of slog.Default's handler.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.NamePrefix == "" {
		o.NamePrefix = "hollow-node-"
	}
	if o.Machine == (kubelet.MachineInfo{}) {
		o.Machine = kubelet.MachineInfo{NumCores: 4, MemoryCapacity: 16 << 30, StorageCapacity: 100 << 30,
			KernelVersion: "hollow", OSImage: "navarch hollow node", OperatingSystem: "linux", Architecture: "amd64"}
	}
	if o.Logger == nil {
		o.Logger = slog.New(levelHandler{slog.Default().Handler(), slog.LevelWarn})
	}
}

// Validate reports what is wrong with the options.
func (o Options) Validate() error {
	switch {
	case o.Count < 1:
		return fmt.Errorf("hollow nodes: count %d: want at least 1", o.Count)
	case o.Count > 1<<16:
		return fmt.Errorf("hollow nodes: count %d: want at most 65536", o.Count)
	case o.Client == nil:
		return errors.New("hollow nodes: Client is required")
	case o.StartDelay < 0:
		return fmt.Errorf("hollow nodes: negative start delay %s", o.StartDelay)
	}
	return nil
}

// Nodes is a running set of hollow nodes.
type Nodes struct {
	opts    Options
	names   []string
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	tempDir string

	mu   sync.Mutex
	errs []error
	once sync.Once
}

// Start starts the hollow nodes and returns at once; they register and
// run until ctx ends or Stop is called.
func Start(ctx context.Context, opts Options) (*Nodes, error) {
	opts.defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	n := &Nodes{opts: opts}
	if opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "navarch-hollow-")
		if err != nil {
			return nil, err
		}
		n.opts.DataDir, n.tempDir = dir, dir
	}
	ctx, n.cancel = context.WithCancel(ctx)
	pods := kubelet.NewSharedPodSource(opts.Client)
	factory := informers.NewSharedInformerFactoryWithOptions(opts.Client, 0, informers.WithTransform(kubelet.TrimService))
	svc := factory.Core().V1().Services()
	services, synced := svc.Lister(), svc.Informer().HasSynced
	factory.Start(ctx.Done())
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		pods.Run(ctx)
		factory.Shutdown()
	}()
	kubelets := make([]*kubelet.Kubelet, 0, opts.Count)
	for i := range opts.Count {
		k, err := n.newKubelet(i, pods, services, synced)
		if err != nil {
			n.cancel()
			n.wg.Wait()
			return nil, err
		}
		kubelets = append(kubelets, k)
		n.names = append(n.names, k.NodeName())
	}
	for _, k := range kubelets {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			if err := k.Run(ctx); err != nil {
				n.mu.Lock()
				n.errs = append(n.errs, fmt.Errorf("%s: %w", k.NodeName(), err))
				n.mu.Unlock()
			}
		}()
	}
	opts.Logger.Info("hollow nodes started", "count", opts.Count)
	return n, nil
}

func (n *Nodes) newKubelet(i int, pods kubelet.PodSource, services corelisters.ServiceLister, synced func() bool) (*kubelet.Kubelet, error) {
	o := n.opts
	name := fmt.Sprintf("%s%d", o.NamePrefix, i)
	rt, err := memruntime.New(memruntime.Options{
		StartDelay: o.StartDelay, Behave: o.Behave,
		PodCIDR: fmt.Sprintf("10.%d.%d.0/24", 128+(i>>8)%64, i&255),
	})
	if err != nil {
		return nil, err
	}
	opts := kubelet.Options{
		NodeName: name, Client: o.Client, Runtime: rt,
		DataDir:  filepath.Join(o.DataDir, name),
		NodeIP:   fmt.Sprintf("100.%d.%d.%d", 64+(i>>16)%64, (i>>8)&255, i&255),
		Hostname: name, Machine: kubelet.FakeMachine{MachineInfo: o.Machine},
		Labels: map[string]string{"navarch.dev/hollow": "true"},
		Pods:   pods, Logger: o.Logger,
		// A hollow node's pods change only through the API and the
		// start delay; a slower resync keeps a thousand nodes cheap.
		SyncPeriod: time.Minute,
	}
	opts.Services, opts.ServicesSynced = services, synced
	if o.Kubelet != nil {
		o.Kubelet(&opts)
	}
	return kubelet.New(opts)
}

// Names lists the nodes' names.
func (n *Nodes) Names() []string { return n.names }

// Stop stops every node and waits for them; it returns the errors they
// ended with. The Nodes and Leases stay in the API. Stop is idempotent.
func (n *Nodes) Stop() error {
	n.once.Do(func() {
		n.cancel()
		n.wg.Wait()
		if n.tempDir != "" {
			os.RemoveAll(n.tempDir)
		}
	})
	n.mu.Lock()
	defer n.mu.Unlock()
	return errors.Join(n.errs...)
}

// Run runs opts.Count hollow nodes until ctx ends.
func Run(ctx context.Context, opts Options) error {
	n, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return n.Stop()
}

// levelHandler drops records below a level.
type levelHandler struct {
	slog.Handler
	min slog.Level
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return levelHandler{h.Handler.WithAttrs(a), h.min}
}

func (h levelHandler) WithGroup(g string) slog.Handler {
	return levelHandler{h.Handler.WithGroup(g), h.min}
}
