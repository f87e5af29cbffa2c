package controllers

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// ErrCIDRsExhausted is returned by CIDRSet.Allocate when every subnet of
// the cluster CIDR is taken.
var ErrCIDRsExhausted = errors.New("no free pod CIDR left in the cluster CIDR")

// Defaults of NodeIPAMOptions.
const (
	// DefaultClusterCIDR is the cluster's pod CIDR, split per node.
	DefaultClusterCIDR = "10.244.0.0/16"
	// DefaultNodeMaskSize is the prefix length of each node's pod CIDR.
	DefaultNodeMaskSize = 24
)

// CIDRSet hands out the node-sized subnets of a cluster CIDR (IPv4): the
// pure core of the node-IPAM controller. Not safe for concurrent use.
type CIDRSet struct {
	cluster  *net.IPNet
	maskSize int
	n        int // subnets in the cluster CIDR
	used     *big.Int
	next     int // where the search for a free subnet starts
}

// NewCIDRSet splits cluster (an IPv4 CIDR) into subnets of prefix length
// maskSize (a cluster of that length is one subnet). It fails on an
// unparsable CIDR or a mask shorter than the cluster's (or more than 2^16
// subnets).
func NewCIDRSet(cluster string, maskSize int) (*CIDRSet, error) {
	_, ipnet, err := net.ParseCIDR(cluster)
	if err != nil {
		return nil, fmt.Errorf("cluster CIDR %q: %w", cluster, err)
	}
	if ipnet.IP.To4() == nil {
		return nil, fmt.Errorf("cluster CIDR %q: only IPv4 is supported", cluster)
	}
	ones, _ := ipnet.Mask.Size()
	if maskSize < ones || maskSize > 30 || maskSize-ones > 16 {
		return nil, fmt.Errorf("node mask /%d does not fit cluster CIDR %s (want /%d to /30, at most 2^16 subnets)", maskSize, cluster, ones)
	}
	return &CIDRSet{cluster: ipnet, maskSize: maskSize, n: 1 << (maskSize - ones), used: new(big.Int)}, nil
}

// Allocate takes the next free subnet and returns it, or ErrCIDRsExhausted.
func (s *CIDRSet) Allocate() (string, error) {
	for i := range s.n {
		idx := (s.next + i) % s.n
		if s.used.Bit(idx) == 0 {
			s.used.SetBit(s.used, idx, 1)
			s.next = (idx + 1) % s.n
			return s.subnet(idx), nil
		}
	}
	return "", ErrCIDRsExhausted
}

// Occupy marks cidr as taken (a node that has one already). It reports
// false when cidr is not one of the set's subnets.
func (s *CIDRSet) Occupy(cidr string) bool {
	idx, ok := s.index(cidr)
	if ok {
		s.used.SetBit(s.used, idx, 1)
	}
	return ok
}

// Release frees cidr; a subnet not in the set is ignored.
func (s *CIDRSet) Release(cidr string) {
	if idx, ok := s.index(cidr); ok {
		s.used.SetBit(s.used, idx, 0)
	}
}

// Used reports how many subnets are taken.
func (s *CIDRSet) Used() int {
	n := 0
	for i := range s.n {
		n += int(s.used.Bit(i))
	}
	return n
}

func (s *CIDRSet) subnet(idx int) string {
	base := binary.BigEndian.Uint32(s.cluster.IP.To4())
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, base+uint32(idx)<<(32-s.maskSize))
	return (&net.IPNet{IP: ip, Mask: net.CIDRMask(s.maskSize, 32)}).String()
}

func (s *CIDRSet) index(cidr string) (int, bool) {
	ip, ipnet, err := net.ParseCIDR(cidr)
	if err != nil || ip.To4() == nil || !s.cluster.Contains(ip) {
		return 0, false
	}
	if ones, _ := ipnet.Mask.Size(); ones != s.maskSize {
		return 0, false
	}
	off := binary.BigEndian.Uint32(ipnet.IP.To4()) - binary.BigEndian.Uint32(s.cluster.IP.To4())
	return int(off >> (32 - s.maskSize)), true
}

// NodeIPAMOptions configure the node-IPAM controller.
type NodeIPAMOptions struct {
	// Client talks to the API server; it must be allowed to list, watch
	// and patch Nodes. Required.
	Client kubernetes.Interface
	// ClusterCIDR is split into one subnet per node; default
	// DefaultClusterCIDR.
	ClusterCIDR string
	// NodeMaskSize is the prefix length of a node's subnet; default
	// DefaultNodeMaskSize.
	NodeMaskSize int
	// Informers, when set, is the shared informer factory the controller
	// takes its Node informer from (the caller starts it); otherwise it
	// makes and starts its own.
	Informers informers.SharedInformerFactory
	// Logger; default slog.Default().
	Logger *slog.Logger
}

func (o *NodeIPAMOptions) defaults() {
	if o.ClusterCIDR == "" {
		o.ClusterCIDR = DefaultClusterCIDR
	}
	if o.NodeMaskSize == 0 {
		o.NodeMaskSize = DefaultNodeMaskSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Validate reports what is wrong with the options (after defaults).
func (o NodeIPAMOptions) Validate() error {
	if o.Client == nil {
		return errors.New("node ipam: Client is required")
	}
	_, err := NewCIDRSet(o.ClusterCIDR, o.NodeMaskSize)
	return err
}

// NodeIPAM gives each Node a spec.podCIDR (and spec.podCIDRs) from the
// cluster CIDR, and takes the subnet back when the Node is deleted. A
// node's CIDR never changes once set.
type NodeIPAM struct {
	opts   NodeIPAMOptions
	lister corelisters.NodeLister
	synced cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]
	own    informers.SharedInformerFactory // started by Run when not shared

	mu    sync.Mutex
	set   *CIDRSet
	given map[string]string // node name → the CIDR it holds
}

// NewNodeIPAM prepares the controller; Run runs it.
func NewNodeIPAM(opts NodeIPAMOptions) (*NodeIPAM, error) {
	opts.defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	set, _ := NewCIDRSet(opts.ClusterCIDR, opts.NodeMaskSize)
	c := &NodeIPAM{
		opts: opts, set: set, given: map[string]string{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "nodeipam"}),
	}
	f := opts.Informers
	if f == nil {
		f = informers.NewSharedInformerFactory(opts.Client, 0)
		c.own = f
	}
	inf := f.Core().V1().Nodes()
	c.lister, c.synced = inf.Lister(), inf.Informer().HasSynced
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(key)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, fmt.Errorf("node ipam: %w", err)
	}
	return c, nil
}

// Run assigns CIDRs until ctx ends. It first occupies the CIDRs every Node
// already holds, so none is handed out twice.
func (c *NodeIPAM) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if c.own != nil {
		c.own.Start(ctx.Done())
		defer c.own.Shutdown()
	}
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return ctx.Err()
	}
	nodes, err := c.lister.List(labels.Everything())
	if err != nil {
		return err
	}
	c.mu.Lock()
	for _, n := range nodes {
		if n.Spec.PodCIDR != "" && c.set.Occupy(n.Spec.PodCIDR) {
			c.given[n.Name] = n.Spec.PodCIDR
		}
	}
	c.mu.Unlock()
	c.opts.Logger.Info("node ipam started", "clusterCIDR", c.opts.ClusterCIDR, "nodeMask", c.opts.NodeMaskSize, "nodes", len(nodes))
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	for c.work(ctx) {
	}
	return nil
}

func (c *NodeIPAM) work(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	if err := c.sync(ctx, name); err != nil {
		if ctx.Err() == nil {
			c.opts.Logger.Warn("assign pod CIDR", "node", name, "err", err)
		}
		c.queue.AddRateLimited(name)
		return true
	}
	c.queue.Forget(name)
	return true
}

// sync gives the named node a CIDR if it has none, or records the one it
// has; a deleted node's CIDR is released.
func (c *NodeIPAM) sync(ctx context.Context, name string) error {
	node, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		c.mu.Lock()
		if cidr, ok := c.given[name]; ok {
			c.set.Release(cidr)
			delete(c.given, name)
		}
		c.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	if node.Spec.PodCIDR != "" {
		if c.given[name] != node.Spec.PodCIDR && c.set.Occupy(node.Spec.PodCIDR) {
			c.given[name] = node.Spec.PodCIDR
		}
		c.mu.Unlock()
		return nil
	}
	cidr, ok := c.given[name]
	if !ok {
		if cidr, err = c.set.Allocate(); err != nil {
			c.mu.Unlock()
			return err
		}
		c.given[name] = cidr
	}
	c.mu.Unlock()
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": node.UID},
		"spec":     map[string]any{"podCIDR": cidr, "podCIDRs": []string{cidr}},
	})
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = c.opts.Client.CoreV1().Nodes().Patch(pctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("patch node %s with pod CIDR %s: %w", name, cidr, err)
	}
	c.opts.Logger.Info("assigned pod CIDR", "node", name, "podCIDR", cidr)
	return nil
}

// setUpNodeIPAM runs the node-IPAM controller in the manager, on its
// shared informers, over the manager's cluster CIDR.
func (m *Manager) setUpNodeIPAM() error {
	c, err := NewNodeIPAM(NodeIPAMOptions{Client: m.cs, ClusterCIDR: m.opts.ClusterCIDR, Informers: m.factory, Logger: m.log.With("controller", NodeIPAMController)})
	if err != nil {
		return err
	}
	m.background = append(m.background, func(ctx context.Context) {
		if err := c.Run(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("node ipam stopped", "err", err)
		}
	})
	return nil
}
