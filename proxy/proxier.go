package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// retryInterval is how long a failed sync waits before the next attempt.
const retryInterval = time.Second

// Proxier keeps this node's nftables table in line with the cluster's
// Services and EndpointSlices, which it watches through the API server.
type Proxier struct {
	opts     Options
	cfg      Config
	client   kubernetes.Interface
	log      *slog.Logger
	renderer *Renderer
	trigger  chan struct{}

	// nodeIPs are the Node's InternalIP addresses, watched when
	// Options.NodeIPs is empty; the sync loop renders with them.
	mu      sync.Mutex
	nodeIPs []netip.Addr
}

// New returns a Proxier for opts. It fails when opts are invalid; it does
// not touch the host until Run.
func New(opts Options) (*Proxier, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cfg, _ := opts.config()
	client := opts.Client
	if client == nil {
		var err error
		if client, err = kubernetes.NewForConfig(opts.ClientConfig); err != nil {
			return nil, fmt.Errorf("proxy: client: %w", err)
		}
	}
	return &Proxier{
		opts: opts, cfg: cfg, client: client,
		log:      opts.Logger.With("component", "proxy", "table", opts.TableName),
		renderer: NewRenderer(cfg),
		trigger:  make(chan struct{}, 1),
	}, nil
}

// Run prepares the host (the Service CIDR's local route first, then
// route_localnet), waits for the informers' first lists, replaces the
// table with a full sync, then applies changes as they come, at most one
// sync per MinSyncInterval, and checks the table every SyncPeriod. It
// returns when ctx ends (nil) or when the host cannot be prepared. The
// rules stay in place after Run returns, so that traffic keeps flowing
// while the proxy restarts; Cleanup removes them.
func (p *Proxier) Run(ctx context.Context) error {
	if err := ensureLocalRoute(ctx, p.cfg.ServiceCIDR); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	if err := enableRouteLocalnet(); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	applier, err := NewApplier(p.cfg.TableName)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}

	notProxied, err := labels.Parse("!" + LabelServiceProxyName)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(p.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = notProxied.String() }))
	services := factory.Core().V1().Services()
	eslices := factory.Discovery().V1().EndpointSlices()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.poke() },
		UpdateFunc: func(any, any) { p.poke() },
		DeleteFunc: func(any) { p.poke() },
	}
	if _, err := services.Informer().AddEventHandler(handler); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	if _, err := eslices.Informer().AddEventHandler(handler); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if len(p.opts.NodeIPs) == 0 {
		nodes, err := p.watchNode(ctx)
		if err != nil {
			return fmt.Errorf("proxy: %w", err)
		}
		defer nodes.Shutdown()
	}
	p.log.InfoContext(ctx, "waiting for Services and EndpointSlices")
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("proxy: %v informer did not sync", typ)
		}
	}

	list := func() ([]*corev1.Service, []*discoveryv1.EndpointSlice) {
		svcs, _ := services.Lister().List(labels.Everything())
		es, _ := eslices.Lister().List(labels.Everything())
		return svcs, es
	}
	return p.loop(ctx, applier, list)
}

// watchNode watches this node's Node and keeps its IPv4 InternalIP
// addresses for the NodePort rules, asking for a sync when they change.
func (p *Proxier) watchNode(ctx context.Context) (informers.SharedInformerFactory, error) {
	factory := informers.NewSharedInformerFactoryWithOptions(p.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", p.opts.NodeName).String()
		}))
	update := func(obj any) {
		node, ok := obj.(*corev1.Node)
		if !ok {
			return
		}
		var ips []netip.Addr
		for _, a := range node.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); a.Type == corev1.NodeInternalIP && err == nil && ip.Is4() {
				ips = append(ips, ip)
			}
		}
		p.mu.Lock()
		changed := !slices.Equal(ips, p.nodeIPs)
		p.nodeIPs = ips
		p.mu.Unlock()
		if changed {
			p.log.InfoContext(ctx, "NodePorts on the node's addresses", "nodeIPs", ips)
			p.poke()
		}
	}
	_, err := factory.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    update,
		UpdateFunc: func(_, obj any) { update(obj) },
	})
	if err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	return factory, nil
}

// currentRenderer returns the renderer, made anew when the Node's
// addresses changed (the next apply is then a full one, which adopts the
// table).
func (p *Proxier) currentRenderer() *Renderer {
	if len(p.opts.NodeIPs) > 0 {
		return p.renderer
	}
	p.mu.Lock()
	ips := p.nodeIPs
	p.mu.Unlock()
	if !slices.Equal(ips, p.cfg.NodeIPs) {
		p.cfg.NodeIPs = ips
		p.renderer = NewRenderer(p.cfg)
	}
	return p.renderer
}

// poke asks for a sync.
func (p *Proxier) poke() {
	select {
	case p.trigger <- struct{}{}:
	default:
	}
}

// loop syncs once, then whenever poked (no sooner than MinSyncInterval
// after the previous sync), when a sync failed (after retryInterval) or
// emptied chains (after staleChainDelay, to delete them), and checks the
// table every SyncPeriod.
func (p *Proxier) loop(ctx context.Context, applier *Applier, list func() ([]*corev1.Service, []*discoveryv1.EndpointSlice)) error {
	check := time.NewTicker(p.opts.SyncPeriod)
	defer check.Stop()
	retry := time.NewTimer(0)
	defer retry.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			p.log.InfoContext(ctx, "proxy stopped; its rules stay until cleanup")
			return nil
		case <-p.trigger:
		case <-retry.C:
		case <-check.C:
			if ok, err := applier.Verify(ctx); err != nil || !ok {
				p.log.WarnContext(ctx, "table changed behind the proxy's back; rebuilding it", "error", err)
				applier.Reset()
			}
		}
		if wait := p.opts.MinSyncInterval - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				continue
			case <-time.After(wait):
			}
		}
		last = time.Now()
		switch err := p.sync(ctx, applier, list); {
		case err != nil:
			retry.Reset(retryInterval)
		case applier.StaleChains() > 0:
			// Come back to delete the chains this sync emptied.
			retry.Reset(staleChainDelay)
		}
	}
}

// sync renders the current Services and EndpointSlices and applies them.
func (p *Proxier) sync(ctx context.Context, applier *Applier, list func() ([]*corev1.Service, []*discoveryv1.EndpointSlice)) error {
	start := time.Now()
	services, eslices := list()
	rs := p.currentRenderer().Render(services, eslices)
	rendered := time.Now()
	res, err := applier.Apply(ctx, rs)
	info := SyncInfo{ApplyResult: res, Services: len(rs.services), Render: rendered.Sub(start), Apply: time.Since(rendered), Err: err}
	if p.opts.OnSync != nil {
		p.opts.OnSync(info)
	}
	if err != nil {
		if ctx.Err() == nil {
			p.log.ErrorContext(ctx, "sync failed; retrying", "error", err)
		}
		return err
	}
	if res.Operations > 0 {
		p.log.DebugContext(ctx, "synced", "services", info.Services, "full", res.Full,
			"operations", res.Operations, "render", info.Render, "apply", info.Apply)
	}
	return nil
}
