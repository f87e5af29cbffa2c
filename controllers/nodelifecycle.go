package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// NodeLeaseNamespace holds the kubelets' heartbeat Leases.
const NodeLeaseNamespace = "kube-node-lease"

// nodeLifecycle watches node heartbeats and turns silence into
// Ready=Unknown and taints (PlanNodeLifecycle).
type nodeLifecycle struct {
	m      *Manager
	loop   *loop
	nodes  corelisters.NodeLister
	leases coordlisters.LeaseLister

	mu     sync.Mutex
	health map[string]*nodeHealth
}

// nodeHealth is what the controller last saw of a node's kubelet.
type nodeHealth struct {
	probe     time.Time // local time of the last sign of life
	renew     time.Time // the Lease's renewTime then
	heartbeat time.Time // the Ready condition's heartbeat then
}

func (m *Manager) setUpNodeLifecycle() error {
	c := &nodeLifecycle{
		m:      m,
		nodes:  m.factory.Core().V1().Nodes().Lister(),
		leases: m.factory.Coordination().V1().Leases().Lister(),
		health: make(map[string]*nodeHealth),
	}
	c.loop = m.newLoop(NodeLifecycleController, c)
	if _, err := m.factory.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.loop.addObject,
		UpdateFunc: func(_, cur any) { c.loop.addObject(cur) },
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				c.mu.Lock()
				delete(c.health, key)
				c.mu.Unlock()
			}
		},
	}); err != nil {
		return err
	}
	if _, err := m.factory.Coordination().V1().Leases().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.leaseChanged(obj) },
		UpdateFunc: func(_, cur any) { c.leaseChanged(cur) },
	}); err != nil {
		return err
	}
	m.background = append(m.background, c.monitor)
	return nil
}

func (c *nodeLifecycle) leaseChanged(obj any) {
	if l, ok := obj.(*coordinationv1.Lease); ok && l.Namespace == NodeLeaseNamespace {
		c.loop.add(l.Name)
	}
}

// monitor checks every node each NodeMonitorPeriod: silence is noticed
// even when no event arrives.
func (c *nodeLifecycle) monitor(ctx context.Context) {
	t := time.NewTicker(c.m.opts.NodeMonitorPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			nodes, _ := c.nodes.List(labels.Everything())
			for _, n := range nodes {
				c.loop.add(n.Name)
			}
		}
	}
}

// observe updates the node's last sign of life from its Lease and Ready
// heartbeat and returns it.
func (c *nodeLifecycle) observe(n *corev1.Node, now time.Time) time.Time {
	var renew, heartbeat time.Time
	if l, err := c.leases.Leases(NodeLeaseNamespace).Get(n.Name); err == nil && l.Spec.RenewTime != nil {
		renew = l.Spec.RenewTime.Time
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			heartbeat = cond.LastHeartbeatTime.Time
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.health[n.Name]
	if !ok {
		h = &nodeHealth{probe: now, renew: renew, heartbeat: heartbeat}
		c.health[n.Name] = h
	}
	if !renew.Equal(h.renew) || !heartbeat.Equal(h.heartbeat) {
		h.probe, h.renew, h.heartbeat = now, renew, heartbeat
	}
	return h.probe
}

// Reconcile checks one node's health and writes its status and taints.
func (c *nodeLifecycle) Reconcile(ctx context.Context, name string) (Result, error) {
	cached, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return Result{}, nil
	}
	if err != nil {
		return Result{}, err
	}
	now := c.m.opts.Now()
	probe := c.observe(cached, now)
	plan := PlanNodeLifecycle(NodeLifecycleInput{
		Node: cached, LastProbe: probe, Now: now, GracePeriod: c.m.opts.NodeMonitorGracePeriod,
	})
	node := cached.DeepCopy()
	nodes := c.m.cs.CoreV1().Nodes()
	if plan.Status != nil {
		node.Status = *plan.Status
		updated, err := nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if err != nil {
			return Result{}, fmt.Errorf("mark node %s unknown: %w", name, err)
		}
		node = updated
		c.m.log.Info("node stopped posting status", "node", name)
	}
	if plan.NotReady {
		c.m.recorder.Eventf(node, corev1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", name)
		if err := c.markPodsNotReady(ctx, name); err != nil {
			return Result{}, err
		}
	}
	if plan.Taints != nil {
		node.Spec.Taints = plan.Taints
		if _, err := nodes.Update(ctx, node, metav1.UpdateOptions{}); err != nil {
			return Result{}, fmt.Errorf("taint node %s: %w", name, err)
		}
	}
	// Look again just after the grace period would run out (the monitor
	// looks every NodeMonitorPeriod anyway).
	return Result{RequeueAfter: max(c.m.opts.NodeMonitorGracePeriod-now.Sub(probe), 0) + 100*time.Millisecond}, nil
}

// markPodsNotReady sets Ready=False on the node's pods, so Services stop
// sending them traffic (Kubernetes' MarkPodsNotReady).
func (c *nodeLifecycle) markPodsNotReady(ctx context.Context, node string) error {
	now := metav1.Now().Rfc3339Copy()
	for _, p := range c.m.podsIndexed(byNode, node) {
		if !isPodReady(p) || isPodTerminal(p) {
			continue
		}
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{{
			Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: now,
		}}}})
		_, err := c.m.cs.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("mark pod %s/%s not ready: %w", p.Namespace, p.Name, err)
		}
		c.m.recorder.Event(p, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	}
	return nil
}
