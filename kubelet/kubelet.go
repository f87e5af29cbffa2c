package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// Defaults of Options.
const (
	DefaultPort                      = 10250
	DefaultReadOnlyPort              = 10255
	DefaultMaxPods                   = 110
	DefaultSyncPeriod                = 30 * time.Second
	DefaultRelistPeriod              = time.Second
	DefaultNodeStatusUpdateFrequency = 10 * time.Second
	DefaultNodeStatusReportFrequency = 5 * time.Minute
	DefaultLeaseDuration             = 40 * time.Second
	DefaultLeaseRenewInterval        = 10 * time.Second
	DefaultLogMaxSize                = 10 << 20
	DefaultLogMaxFiles               = 5
	DefaultLogRotateInterval         = 10 * time.Second
	DefaultGCPeriod                  = time.Minute
)

// AnyPort, as Options.Port or Options.ReadOnlyPort, listens on a free port
// (tests); the port in use is then reported by Kubelet.Port and
// Kubelet.ReadOnlyAddr.
const AnyPort = -1

// Options configure a Kubelet. Zero values take the defaults above.
type Options struct {
	// NodeName is the Node this kubelet registers and runs pods for.
	// Required.
	NodeName string
	// Client talks to the API server as the node (system:node:<name>).
	// Required.
	Client kubernetes.Interface
	// Runtime runs the pods, when it needs no pod CIDR (hollow nodes).
	Runtime Runtime
	// NewRuntime makes the Runtime once the node's spec.podCIDR is set
	// (by the node-IPAM controller): the pod network is configured from
	// it. Exactly one of Runtime and NewRuntime is required.
	NewRuntime func(ctx context.Context, podCIDR string) (Runtime, error)
	// DataDir holds the pods' volumes and container logs (pods/ and
	// logs/). Required, absolute.
	DataDir string

	// NodeIP is the node's InternalIP and pods' hostIP; default: the
	// address of the interface holding the default route, else 127.0.0.1.
	NodeIP string
	// Hostname is the node's Hostname address; default os.Hostname.
	Hostname string
	// Labels are added to the Node's labels at registration.
	Labels map[string]string
	// MaxPods is the node's pods capacity; default DefaultMaxPods.
	MaxPods int
	// Machine describes the machine; default the host (/proc, /sys).
	Machine Machine

	// Address is where the kubelet API listens (HTTPS); default 0.0.0.0.
	Address string
	// Port of the kubelet API: 0 off, AnyPort a free one. It serves
	// container logs to the API server and needs ClientCA.
	Port int
	// ClientCA (PEM) verifies client certificates of the kubelet API;
	// only clients in group system:masters signed by it are served.
	ClientCA []byte
	// ReadOnlyAddress is where the read-only port listens; default
	// 127.0.0.1.
	ReadOnlyAddress string
	// ReadOnlyPort serves /healthz, /spec, /pods and /metrics over plain
	// HTTP: 0 off, AnyPort a free one.
	ReadOnlyPort int

	// Backoff is the crash and image-pull back-off; default DefaultBackoff.
	Backoff BackoffPolicy
	// SyncPeriod is how often a pod is converged without an event.
	SyncPeriod time.Duration
	// RelistPeriod is how often the runtime is listed to notice container
	// state changes.
	RelistPeriod time.Duration
	// NodeStatusUpdateFrequency is how often node status is computed
	// (and the runtime's health checked); it is written when it changed.
	NodeStatusUpdateFrequency time.Duration
	// NodeStatusReportFrequency is how often node status is written even
	// when unchanged.
	NodeStatusReportFrequency time.Duration
	// LeaseDuration and LeaseRenewInterval shape the node's Lease.
	LeaseDuration      time.Duration
	LeaseRenewInterval time.Duration
	// LogMaxSize caps a container log file; LogMaxFiles counts the files
	// kept per container (the live one and rotated ones);
	// LogRotateInterval is how often sizes are checked.
	LogMaxSize        int64
	LogMaxFiles       int
	LogRotateInterval time.Duration
	// GCPeriod is how often dead containers and sandboxes are collected.
	GCPeriod time.Duration

	// Pods, when set, delivers this node's pods (hollow nodes share one);
	// default: an informer on pods with spec.nodeName=<NodeName>.
	Pods PodSource
	// Services lists Services for the containers' environment, with
	// ServicesSynced; default: an informer of the kubelet's own, its
	// cache trimmed by TrimService.
	Services       corelisters.ServiceLister
	ServicesSynced func() bool

	// Metrics: record metrics served on the read-only port's /metrics
	// (default true when ReadOnlyPort is on).
	Metrics *Metrics
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&o.SyncPeriod, DefaultSyncPeriod)
	set(&o.RelistPeriod, DefaultRelistPeriod)
	set(&o.NodeStatusUpdateFrequency, DefaultNodeStatusUpdateFrequency)
	set(&o.NodeStatusReportFrequency, DefaultNodeStatusReportFrequency)
	set(&o.LeaseDuration, DefaultLeaseDuration)
	set(&o.LeaseRenewInterval, DefaultLeaseRenewInterval)
	set(&o.LogRotateInterval, DefaultLogRotateInterval)
	set(&o.GCPeriod, DefaultGCPeriod)
	if o.Backoff == (BackoffPolicy{}) {
		o.Backoff = DefaultBackoff()
	}
	if o.MaxPods == 0 {
		o.MaxPods = DefaultMaxPods
	}
	if o.LogMaxSize == 0 {
		o.LogMaxSize = DefaultLogMaxSize
	}
	if o.LogMaxFiles == 0 {
		o.LogMaxFiles = DefaultLogMaxFiles
	}
	if o.Address == "" {
		o.Address = "0.0.0.0"
	}
	if o.ReadOnlyAddress == "" {
		o.ReadOnlyAddress = "127.0.0.1"
	}
	if o.Machine == nil {
		o.Machine = HostMachine{DataDir: o.DataDir}
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.NodeIP == "" {
		o.NodeIP = defaultNodeIP()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Validate reports what is wrong with the options (after defaults).
func (o Options) Validate() error {
	var errs []error
	if o.NodeName == "" {
		errs = append(errs, errors.New("node name is required"))
	}
	if o.Client == nil {
		errs = append(errs, errors.New("client is required"))
	}
	if (o.Runtime == nil) == (o.NewRuntime == nil) {
		errs = append(errs, errors.New("exactly one of Runtime and NewRuntime is required"))
	}
	if o.DataDir == "" || !filepath.IsAbs(o.DataDir) {
		errs = append(errs, fmt.Errorf("data dir %q must be an absolute path", o.DataDir))
	}
	if net.ParseIP(o.NodeIP) == nil {
		errs = append(errs, fmt.Errorf("node IP %q is not an IP address", o.NodeIP))
	}
	for _, p := range []struct {
		name string
		port int
	}{{"port", o.Port}, {"read-only port", o.ReadOnlyPort}} {
		if p.port < AnyPort || p.port > 65535 {
			errs = append(errs, fmt.Errorf("%s %d out of range", p.name, p.port))
		}
	}
	if o.Port != 0 && len(o.ClientCA) == 0 {
		errs = append(errs, errors.New("the kubelet API needs a client CA"))
	}
	if o.Backoff.Initial <= 0 || o.Backoff.Max < o.Backoff.Initial || o.Backoff.ResetAfter < 0 {
		errs = append(errs, fmt.Errorf("back-off %+v: want 0 < initial <= max and reset-after >= 0", o.Backoff))
	}
	if o.LogMaxFiles < 1 || o.LogMaxSize < 1024 {
		errs = append(errs, fmt.Errorf("logs: want at least 1 file of 1 KiB, got %d of %d bytes", o.LogMaxFiles, o.LogMaxSize))
	}
	if o.MaxPods < 1 {
		errs = append(errs, fmt.Errorf("max pods %d: want at least 1", o.MaxPods))
	}
	if (o.Services == nil) != (o.ServicesSynced == nil) {
		errs = append(errs, errors.New("Services and ServicesSynced go together"))
	}
	return errors.Join(errs...)
}

// Kubelet is a node agent: it registers its Node, heartbeats its Lease
// and runs the pods bound to the node on a Runtime. Create it with New,
// run it with Run.
type Kubelet struct {
	opts    Options
	client  kubernetes.Interface
	log     *slog.Logger
	metrics *Metrics
	machine MachineInfo

	rt         atomic.Pointer[runtimeBox] // nil until the runtime is up
	rtHealthy  atomic.Bool
	rtMessage  atomic.Pointer[string] // why the runtime is not healthy
	rtVersion  atomic.Pointer[string] // "containerd://1.7.24", once known
	podCIDR    atomic.Pointer[string]
	startedAt  time.Time
	workers    *podWorkers
	probes     *probeManager
	pods       PodSource
	podsList   func() []*corev1.Pod
	podsSynced func() bool
	services   corelisters.ServiceLister
	svcSynced  func() bool
	servers    servers
	nodeUID    atomic.Pointer[types.UID]
	kick       chan struct{} // asks the node status loop to run now

	runOnce sync.Once
}

type runtimeBox struct{ Runtime }

// New prepares a kubelet. It fails on invalid options or when the
// kubelet's ports cannot be bound.
func New(opts Options) (*Kubelet, error) {
	opts.defaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("kubelet options: %w", err)
	}
	k := &Kubelet{
		opts: opts, client: opts.Client, log: opts.Logger.With("node", opts.NodeName),
		metrics: opts.Metrics, machine: opts.Machine.Info(), startedAt: opts.Now(),
		kick: make(chan struct{}, 1),
	}
	if k.metrics == nil && opts.ReadOnlyPort != 0 {
		k.metrics = NewMetrics()
	}
	k.rtMessage.Store(ptrTo("container runtime is not started"))
	k.podCIDR.Store(ptrTo(""))
	k.workers = newPodWorkers(k)
	k.probes = newProbeManager(k)
	if opts.Runtime != nil {
		k.rt.Store(&runtimeBox{opts.Runtime})
	}
	if err := k.listen(); err != nil {
		return nil, err
	}
	return k, nil
}

// runtime returns the Runtime, or nil before it is up.
func (k *Kubelet) runtime() Runtime {
	if b := k.rt.Load(); b != nil {
		return b.Runtime
	}
	return nil
}

// NodeName is the kubelet's node.
func (k *Kubelet) NodeName() string { return k.opts.NodeName }

// Run registers the node, keeps its Lease and status, waits for the pod
// CIDR and the runtime, adopts what the runtime already runs, then runs
// the node's pods until ctx ends. Containers keep running when it
// returns (a restarted kubelet adopts them). Run may be called once.
func (k *Kubelet) Run(ctx context.Context) error {
	err := errors.New("kubelet: Run called twice")
	k.runOnce.Do(func() { err = k.run(ctx) })
	return err
}

func (k *Kubelet) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	goLoop := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	goLoop(k.serve)
	if err := k.startServices(ctx); err != nil {
		return err
	}
	if err := k.registerNode(ctx); err != nil {
		return err
	}
	goLoop(k.leaseLoop)
	goLoop(k.nodeStatusLoop)
	if err := k.waitRuntime(ctx); err != nil {
		return err
	}
	k.startPods(ctx)
	if !waitFor(ctx, k.podsSynced) || !waitFor(ctx, k.svcSynced) {
		return nil
	}
	if err := k.adopt(ctx); err != nil && ctx.Err() == nil {
		k.log.Warn("adopt running pods", "err", err)
	}
	k.workers.start(ctx)
	goLoop(k.relistLoop)
	goLoop(k.gcLoop)
	if k.opts.LogRotateInterval > 0 && k.opts.Runtime == nil {
		goLoop(k.rotateLoop)
	}
	k.log.Info("kubelet running", "podCIDR", *k.podCIDR.Load(), "nodeIP", k.opts.NodeIP)
	<-ctx.Done()
	k.probes.stopAll()
	k.workers.wait()
	if c, ok := k.runtime().(interface{ Close() error }); ok && k.opts.NewRuntime != nil {
		c.Close()
	}
	return nil
}

// waitRuntime makes the runtime once the node has a pod CIDR (when the
// kubelet makes it), retrying until it succeeds or ctx ends.
func (k *Kubelet) waitRuntime(ctx context.Context) error {
	if k.runtime() != nil {
		k.checkRuntime(ctx)
		return nil
	}
	k.rtMessage.Store(ptrTo("network not ready: waiting for the node's podCIDR"))
	cidr, err := k.waitPodCIDR(ctx)
	if err != nil {
		return nil // ctx ended
	}
	k.podCIDR.Store(&cidr)
	delay := 500 * time.Millisecond
	for {
		rt, err := k.opts.NewRuntime(ctx, cidr)
		if err == nil {
			k.rt.Store(&runtimeBox{rt})
			k.checkRuntime(ctx)
			k.kickNodeStatus()
			return nil
		}
		k.rtMessage.Store(ptrTo("container runtime is down: " + err.Error()))
		k.log.Warn("start container runtime", "err", err, "retry", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// checkRuntime pings the runtime and records whether it answers.
func (k *Kubelet) checkRuntime(ctx context.Context) bool {
	rt := k.runtime()
	if rt == nil {
		k.rtHealthy.Store(false)
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rt.Ping(pctx); err != nil {
		if k.rtHealthy.Swap(false) {
			k.log.Warn("container runtime is down", "err", err)
			k.rtVersion.Store(nil)
		}
		k.rtMessage.Store(ptrTo("container runtime is down: " + err.Error()))
		return false
	}
	if !k.rtHealthy.Swap(true) {
		k.log.Info("container runtime is up")
	}
	return true
}

func (k *Kubelet) kickNodeStatus() {
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

// waitFor polls synced until it reports true or ctx ends.
func waitFor(ctx context.Context, synced func() bool) bool {
	for !synced() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}

// podsDir is where a pod's volumes live: DataDir/pods/<uid>.
func (k *Kubelet) podDir(uid types.UID) string {
	return filepath.Join(k.opts.DataDir, "pods", string(uid))
}

// capacity is the node's capacity: the machine's cores and memory and
// MaxPods pods.
func (k *Kubelet) capacity() corev1.ResourceList {
	m := k.machine
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(m.NumCores), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(m.MemoryCapacity, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(k.opts.MaxPods), resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(m.StorageCapacity, resource.BinarySI),
	}
}

func ptrTo[T any](v T) *T { return &v }

// defaultNodeIP is the source address of the default route's interface,
// found without sending a packet, or 127.0.0.1.
func defaultNodeIP() string {
	ifs, err := net.Interfaces()
	if err == nil {
		for _, i := range ifs {
			if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 || !hasDefaultRoute(i.Name) {
				continue
			}
			addrs, _ := i.Addrs()
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
					return ipn.IP.String()
				}
			}
		}
	}
	return "127.0.0.1"
}
