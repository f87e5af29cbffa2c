package controllers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/navarch/navarch/internal/events"
)

// ErrInvalidOptions is returned by Options.Validate and New.
var ErrInvalidOptions = errors.New("invalid controller manager options")

// The controllers a Manager can run, by name.
const (
	ReplicaSetController       = "replicaset"
	DeploymentController       = "deployment"
	NodeLifecycleController    = "nodelifecycle"
	TaintEvictionController    = "taint-eviction"
	EndpointsController        = "endpoints"
	EndpointSliceController    = "endpointslice"
	NamespaceController        = "namespace"
	GarbageCollectorController = "garbagecollector"
	PodGCController            = "podgc"
	NodeIPAMController         = "nodeipam"
)

// AllControllers lists every controller, in start order.
func AllControllers() []string {
	return []string{NodeIPAMController, ReplicaSetController, DeploymentController, NodeLifecycleController, TaintEvictionController,
		EndpointsController, EndpointSliceController, NamespaceController, GarbageCollectorController, PodGCController}
}

// Defaults of Options, Kubernetes' where it has them.
const (
	DefaultWorkers                  = 5
	DefaultNodeMonitorPeriod        = 5 * time.Second
	DefaultNodeMonitorGracePeriod   = 40 * time.Second
	DefaultTolerationSeconds        = 300
	DefaultTerminatedPodGCThreshold = 12500
	DefaultPodGCPeriod              = 20 * time.Second
)

// Options configure a Manager.
type Options struct {
	// Config reaches the API server. Required. Its QPS and Burst bound
	// how fast controllers write: give it generous ones.
	Config *rest.Config
	// Controllers to run; nil means AllControllers.
	Controllers []string
	// Workers is how many keys each controller reconciles at once.
	Workers int
	// NodeMonitorPeriod is how often node health is checked.
	NodeMonitorPeriod time.Duration
	// NodeMonitorGracePeriod is how long a node's Lease may go unrenewed
	// before the node is marked Ready=Unknown and tainted unreachable.
	NodeMonitorGracePeriod time.Duration
	// DefaultTolerationSeconds is how long a pod stays on a not-ready or
	// unreachable node when it does not say otherwise (see doc.go).
	DefaultTolerationSeconds int64
	// TerminatedPodGCThreshold is how many finished pods are kept; the
	// oldest beyond it are deleted. Negative turns that off.
	TerminatedPodGCThreshold int
	// PodGCPeriod is how often the pod garbage collector runs.
	PodGCPeriod time.Duration
	// ClusterCIDR is the pod network the node-IPAM controller splits
	// into one DefaultNodeMaskSize subnet per node; default
	// DefaultClusterCIDR.
	ClusterCIDR string
	// Logger receives the controllers' logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Controllers == nil {
		o.Controllers = AllControllers()
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.NodeMonitorPeriod == 0 {
		o.NodeMonitorPeriod = DefaultNodeMonitorPeriod
	}
	if o.NodeMonitorGracePeriod == 0 {
		o.NodeMonitorGracePeriod = DefaultNodeMonitorGracePeriod
	}
	if o.DefaultTolerationSeconds == 0 {
		o.DefaultTolerationSeconds = DefaultTolerationSeconds
	}
	if o.TerminatedPodGCThreshold == 0 {
		o.TerminatedPodGCThreshold = DefaultTerminatedPodGCThreshold
	}
	if o.PodGCPeriod == 0 {
		o.PodGCPeriod = DefaultPodGCPeriod
	}
	if o.ClusterCIDR == "" {
		o.ClusterCIDR = DefaultClusterCIDR
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Validate reports every missing or out-of-range option, wrapping
// ErrInvalidOptions.
func (o Options) Validate() error {
	var errs []error
	if o.Config == nil {
		errs = append(errs, errors.New("a REST config is required"))
	}
	for _, c := range o.Controllers {
		if !slices.Contains(AllControllers(), c) {
			errs = append(errs, fmt.Errorf("unknown controller %q", c))
		}
	}
	if o.Workers < 0 || o.NodeMonitorPeriod < 0 || o.NodeMonitorGracePeriod < 0 || o.DefaultTolerationSeconds < 0 || o.PodGCPeriod < 0 {
		errs = append(errs, errors.New("workers and durations must not be negative"))
	}
	if o.ClusterCIDR != "" {
		if _, err := NewCIDRSet(o.ClusterCIDR, DefaultNodeMaskSize); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	return nil
}

// Manager runs the controllers in one process over shared informers.
type Manager struct {
	opts     Options
	cs       kubernetes.Interface
	meta     metadata.Interface
	log      *slog.Logger
	factory  informers.SharedInformerFactory
	recorder record.EventRecorder
	loops    []*loop
	// background are periodic tasks (node monitor, pod GC, the garbage
	// collector's graph) run beside the loops.
	background []func(ctx context.Context)
}

// New returns a Manager, or an error wrapping ErrInvalidOptions.
func New(opts Options) (*Manager, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	cs, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("%w: client: %w", ErrInvalidOptions, err)
	}
	mc, err := metadata.NewForConfig(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("%w: metadata client: %w", ErrInvalidOptions, err)
	}
	return &Manager{opts: opts, cs: cs, meta: mc, log: opts.Logger.With("component", "controller-manager")}, nil
}

// Run starts the enabled controllers and blocks until ctx ends and they
// have stopped; it returns nil then. It fails when the informers do not
// sync. A Manager runs once.
func (m *Manager) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.factory = informers.NewSharedInformerFactory(m.cs, 0)
	m.recorder = events.NewRecorder(ctx, m.cs, "controller-manager", m.log)
	if err := m.setUp(ctx); err != nil {
		return err
	}
	m.factory.Start(ctx.Done())
	defer m.factory.Shutdown()
	for typ, ok := range m.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("controller manager: sync %v informer", typ)
		}
	}
	m.log.Info("controllers started", "controllers", m.opts.Controllers)
	var wg sync.WaitGroup
	for _, l := range m.loops {
		wg.Go(func() { l.run(ctx) })
	}
	for _, f := range m.background {
		wg.Go(func() { f(ctx) })
	}
	wg.Wait()
	return nil
}

// setUp registers each enabled controller's informers, handlers and loop.
func (m *Manager) setUp(ctx context.Context) error {
	if err := m.addPodIndexes(); err != nil {
		return err
	}
	for _, name := range m.opts.Controllers {
		var err error
		switch name {
		case ReplicaSetController:
			err = m.setUpReplicaSets()
		case DeploymentController:
			err = m.setUpDeployments()
		case NodeLifecycleController:
			err = m.setUpNodeLifecycle()
		case TaintEvictionController:
			err = m.setUpTaintEviction()
		case EndpointsController:
			err = m.setUpEndpoints()
		case EndpointSliceController:
			err = m.setUpEndpointSlices()
		case NamespaceController:
			err = m.setUpNamespaces()
		case GarbageCollectorController:
			err = m.setUpGarbageCollector(ctx)
		case PodGCController:
			err = m.setUpPodGC()
		case NodeIPAMController:
			err = m.setUpNodeIPAM()
		}
		if err != nil {
			return fmt.Errorf("set up %s controller: %w", name, err)
		}
	}
	return nil
}

// newLoop makes a controller's loop and registers it to run.
func (m *Manager) newLoop(name string, r Reconciler) *loop {
	l := newLoop(name, m.opts.Workers, r, m.log)
	m.loops = append(m.loops, l)
	return l
}

// Pod indexes shared by the controllers.
const (
	// byController indexes pods by their controller's UID; orphans by
	// "orphan/<namespace>".
	byController = "controller"
	// byNode indexes pods by spec.nodeName.
	byNode = "node"
)

func (m *Manager) addPodIndexes() error {
	pods := m.factory.Core().V1().Pods().Informer()
	if err := pods.SetTransform(stripManagedFields); err != nil {
		return err
	}
	return pods.AddIndexers(cache.Indexers{
		byController: func(obj any) ([]string, error) {
			p := obj.(*corev1.Pod)
			if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
				return []string{string(ref.UID)}, nil
			}
			return []string{orphanKey(p.Namespace)}, nil
		},
		byNode: func(obj any) ([]string, error) {
			if n := obj.(*corev1.Pod).Spec.NodeName; n != "" {
				return []string{n}, nil
			}
			return nil, nil
		},
	})
}

func orphanKey(namespace string) string { return "orphan/" + namespace }

// stripManagedFields drops managedFields from cached objects: no
// controller reads them.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(interface {
		SetManagedFields([]metav1.ManagedFieldsEntry)
	}); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// podsIndexed returns the cached pods under an index value.
func (m *Manager) podsIndexed(index, value string) []*corev1.Pod {
	objs, _ := m.factory.Core().V1().Pods().Informer().GetIndexer().ByIndex(index, value)
	out := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*corev1.Pod))
	}
	return out
}
