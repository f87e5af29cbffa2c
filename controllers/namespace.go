package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// namespaceContentPoll is how soon a namespace whose content is still
// going is looked at again.
const namespaceContentPoll = time.Second

// namespaces empties namespaces being deleted and then lets them go: the
// API server keeps a namespace until its "kubernetes" finalizer, which
// this controller owns, is removed through namespaces/finalize.
type namespaces struct {
	m         *Manager
	lister    corelisters.NamespaceLister
	resources *resourceMap
}

func (m *Manager) setUpNamespaces() error {
	c := &namespaces{m: m, lister: m.factory.Core().V1().Namespaces().Lister()}
	l := m.newLoop(NamespaceController, c)
	_, err := m.factory.Core().V1().Namespaces().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    l.addObject,
		UpdateFunc: func(_, cur any) { l.addObject(cur) },
	})
	return err
}

// Reconcile deletes everything in a namespace being deleted and, once
// nothing is left, removes the "kubernetes" finalizer.
func (c *namespaces) Reconcile(ctx context.Context, name string) (Result, error) {
	ns, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return Result{}, nil
	}
	if err != nil {
		return Result{}, err
	}
	if ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		return Result{}, nil
	}
	if c.resources == nil {
		if c.resources, err = c.m.discoverResources(ctx); err != nil {
			return Result{}, err
		}
	}
	remaining, err := c.deleteContent(ctx, name)
	if err != nil {
		return Result{}, err
	}
	if remaining > 0 {
		c.m.log.Debug("namespace still has content", "namespace", name, "objects", remaining)
		return Result{RequeueAfter: namespaceContentPoll}, nil
	}
	fresh := ns.DeepCopy()
	fresh.Spec.Finalizers = slices.DeleteFunc(fresh.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == corev1.FinalizerKubernetes })
	if _, err := c.m.cs.CoreV1().Namespaces().Finalize(ctx, fresh, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return Result{}, fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	c.m.log.Info("namespace emptied and finalized", "namespace", name)
	return Result{}, nil
}

// deleteContent deletes every object of every namespaced resource in the
// namespace (background propagation; objects with finalizers or graceful
// pods take their time) and returns how many were still there.
func (c *namespaces) deleteContent(ctx context.Context, ns string) (int, error) {
	remaining := 0
	for _, r := range c.resources.list {
		if !r.namespaced {
			continue
		}
		client := c.m.meta.Resource(r.gvr).Namespace(ns)
		list, err := client.List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("list %s in %s: %w", r.gvr.Resource, ns, err)
		}
		for _, o := range list.Items {
			remaining++
			if o.DeletionTimestamp != nil {
				continue
			}
			uid := o.UID
			bg := metav1.DeletePropagationBackground
			err := client.Delete(ctx, o.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &bg})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return 0, fmt.Errorf("delete %s %s/%s: %w", r.gvr.Resource, ns, o.Name, err)
			}
		}
	}
	return remaining, nil
}
