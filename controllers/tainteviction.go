package controllers

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// taintEviction deletes pods from nodes with NoExecute taints they do not
// tolerate (for long enough): EvictionTime decides, the loop waits.
type taintEviction struct {
	m     *Manager
	loop  *loop
	pods  corelisters.PodLister
	nodes corelisters.NodeLister
}

func (m *Manager) setUpTaintEviction() error {
	c := &taintEviction{m: m, pods: m.factory.Core().V1().Pods().Lister(), nodes: m.factory.Core().V1().Nodes().Lister()}
	c.loop = m.newLoop(TaintEvictionController, c)
	if _, err := m.factory.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.nodeChanged(nil, obj.(*corev1.Node)) },
		UpdateFunc: func(old, cur any) {
			c.nodeChanged(old.(*corev1.Node), cur.(*corev1.Node))
		},
	}); err != nil {
		return err
	}
	_, err := m.factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.podChanged(obj.(*corev1.Pod)) },
		UpdateFunc: func(_, cur any) { c.podChanged(cur.(*corev1.Pod)) },
	})
	return err
}

func noExecuteTaints(n *corev1.Node) []corev1.Taint {
	if n == nil {
		return nil
	}
	var out []corev1.Taint
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

func (c *taintEviction) nodeChanged(old, cur *corev1.Node) {
	taints := noExecuteTaints(cur)
	if len(taints) == 0 || apiequality.Semantic.DeepEqual(noExecuteTaints(old), taints) {
		return
	}
	for _, p := range c.m.podsIndexed(byNode, cur.Name) {
		c.loop.add(p.Namespace + "/" + p.Name)
	}
}

func (c *taintEviction) podChanged(p *corev1.Pod) {
	if p.Spec.NodeName == "" || p.DeletionTimestamp != nil {
		return
	}
	if n, err := c.nodes.Get(p.Spec.NodeName); err == nil && slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute
	}) {
		c.loop.add(p.Namespace + "/" + p.Name)
	}
}

// Reconcile evicts one pod when its time on a tainted node is up, or asks
// to be called again then.
func (c *taintEviction) Reconcile(ctx context.Context, key string) (Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return Result{}, nil
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) || (err == nil && (pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil || isPodTerminal(pod))) {
		return Result{}, nil
	}
	if err != nil {
		return Result{}, err
	}
	node, err := c.nodes.Get(pod.Spec.NodeName)
	if err != nil {
		return Result{}, nil // a pod on a missing node is the pod GC's
	}
	now := c.m.opts.Now()
	at, evict := EvictionTime(pod, node.Spec.Taints, c.m.opts.DefaultTolerationSeconds, now)
	if !evict {
		return Result{}, nil
	}
	if at.After(now) {
		return Result{RequeueAfter: at.Sub(now)}, nil
	}
	c.m.recorder.Eventf(pod, corev1.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s/%s", ns, name)
	err = c.m.cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return Result{}, fmt.Errorf("evict pod %s: %w", key, err)
	}
	c.m.log.Info("evicted pod from tainted node", "pod", key, "node", node.Name)
	return Result{}, nil
}
