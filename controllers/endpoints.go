package controllers

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// serviceWatch queues a Service's key whenever it or a pod it selects
// changes; the Endpoints and EndpointSlice controllers share it.
type serviceWatch struct {
	services corelisters.ServiceLister
	pods     corelisters.PodLister
}

func (m *Manager) serviceWatch(l *loop) (*serviceWatch, error) {
	w := &serviceWatch{services: m.factory.Core().V1().Services().Lister(), pods: m.factory.Core().V1().Pods().Lister()}
	if _, err := m.factory.Core().V1().Services().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    l.addObject,
		UpdateFunc: func(_, cur any) { l.addObject(cur) },
		DeleteFunc: l.addObject,
	}); err != nil {
		return nil, err
	}
	podChanged := func(pods ...*corev1.Pod) {
		keys := map[string]bool{}
		for _, p := range pods {
			svcs, _ := w.services.Services(p.Namespace).List(labels.Everything())
			for _, s := range svcs {
				if s.Spec.Selector != nil && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.Labels)) {
					keys[s.Namespace+"/"+s.Name] = true
				}
			}
		}
		for k := range keys {
			l.add(k)
		}
	}
	_, err := m.factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { podChanged(obj.(*corev1.Pod)) },
		UpdateFunc: func(old, cur any) {
			o, n := old.(*corev1.Pod), cur.(*corev1.Pod)
			if o.ResourceVersion != n.ResourceVersion {
				podChanged(o, n)
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				podChanged(p)
			}
		},
	})
	return w, err
}

// selected returns the Service (nil when it is gone) and the pods its
// selector picks; a Service without a selector has its endpoints managed
// by someone else (ok false).
func (w *serviceWatch) selected(key string) (svc *corev1.Service, pods []*corev1.Pod, ok bool, err error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil, nil, false, nil
	}
	svc, err = w.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil, true, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	if svc.Spec.Selector == nil {
		return svc, nil, false, nil
	}
	pods, err = w.pods.Pods(ns).List(labels.SelectorFromSet(svc.Spec.Selector))
	return svc, pods, true, err
}

// endpoints writes each Service's Endpoints object.
type endpoints struct {
	m      *Manager
	w      *serviceWatch
	lister corelisters.EndpointsLister
}

func (m *Manager) setUpEndpoints() error {
	c := &endpoints{m: m, lister: m.factory.Core().V1().Endpoints().Lister()}
	l := m.newLoop(EndpointsController, c)
	var err error
	c.w, err = m.serviceWatch(l)
	return err
}

// Reconcile writes the Endpoints of one Service, or deletes them when the
// Service is gone.
func (c *endpoints) Reconcile(ctx context.Context, key string) (Result, error) {
	svc, pods, ok, err := c.w.selected(key)
	if err != nil || !ok {
		return Result{}, err
	}
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	client := c.m.cs.CoreV1().Endpoints(ns)
	if svc == nil {
		err := client.Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return Result{}, fmt.Errorf("delete endpoints %s: %w", key, err)
		}
		return Result{}, nil
	}
	want := EndpointsFor(svc, pods)
	cur, err := c.lister.Endpoints(ns).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		_, err = client.Create(ctx, want, metav1.CreateOptions{})
	case err != nil:
	case apiequality.Semantic.DeepEqual(cur.Subsets, want.Subsets) && apiequality.Semantic.DeepEqual(cur.Labels, want.Labels):
		return Result{}, nil
	default:
		upd := cur.DeepCopy()
		upd.Labels, upd.Subsets = want.Labels, want.Subsets
		_, err = client.Update(ctx, upd, metav1.UpdateOptions{})
	}
	if err != nil {
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			c.m.recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpoint", "Failed to update endpoint %s: %v", key, err)
		}
		return Result{}, fmt.Errorf("write endpoints %s: %w", key, err)
	}
	return Result{}, nil
}

// endpointSlices writes each Service's EndpointSlices.
type endpointSlices struct {
	m      *Manager
	w      *serviceWatch
	lister discoverylisters.EndpointSliceLister
}

func (m *Manager) setUpEndpointSlices() error {
	c := &endpointSlices{m: m, lister: m.factory.Discovery().V1().EndpointSlices().Lister()}
	l := m.newLoop(EndpointSliceController, c)
	// A slice changed or deleted by someone else is put back.
	if _, err := m.factory.Discovery().V1().EndpointSlices().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, cur any) { c.sliceChanged(l, cur) },
		DeleteFunc: func(obj any) { c.sliceChanged(l, obj) },
	}); err != nil {
		return err
	}
	var err error
	c.w, err = m.serviceWatch(l)
	return err
}

func (c *endpointSlices) sliceChanged(l *loop, obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if s, ok := obj.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelManagedBy] == EndpointSliceManagedBy {
		if svc := s.Labels[discoveryv1.LabelServiceName]; svc != "" {
			l.add(s.Namespace + "/" + svc)
		}
	}
}

// Reconcile makes the stored slices of one Service match
// EndpointSlicesFor: the n-th stored slice (by name) takes the n-th
// desired one, extra slices are created or deleted.
func (c *endpointSlices) Reconcile(ctx context.Context, key string) (Result, error) {
	svc, pods, ok, err := c.w.selected(key)
	if err != nil || !ok {
		return Result{}, err
	}
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	existing, err := c.lister.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{
		discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: EndpointSliceManagedBy,
	}))
	if err != nil {
		return Result{}, err
	}
	sort.Slice(existing, func(i, j int) bool { return existing[i].Name < existing[j].Name })
	var want []*discoveryv1.EndpointSlice
	if svc != nil {
		want = EndpointSlicesFor(svc, pods, MaxEndpointsPerSlice)
	}
	client := c.m.cs.DiscoveryV1().EndpointSlices(ns)
	for i, w := range want {
		if i >= len(existing) {
			if _, err := client.Create(ctx, w, metav1.CreateOptions{}); err != nil {
				return Result{}, fmt.Errorf("create endpointslice for %s: %w", key, err)
			}
			continue
		}
		cur := existing[i]
		if cur.AddressType != w.AddressType {
			if err := client.Delete(ctx, cur.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return Result{}, err
			}
			if _, err := client.Create(ctx, w, metav1.CreateOptions{}); err != nil {
				return Result{}, fmt.Errorf("create endpointslice for %s: %w", key, err)
			}
			continue
		}
		if sameSlice(cur, w) {
			continue
		}
		upd := cur.DeepCopy()
		upd.Labels, upd.Endpoints, upd.Ports, upd.OwnerReferences = w.Labels, w.Endpoints, w.Ports, w.OwnerReferences
		if _, err := client.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
			return Result{}, fmt.Errorf("update endpointslice %s/%s: %w", ns, cur.Name, err)
		}
	}
	for i := len(want); i < len(existing); i++ {
		if err := client.Delete(ctx, existing[i].Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return Result{}, fmt.Errorf("delete endpointslice %s/%s: %w", ns, existing[i].Name, err)
		}
	}
	return Result{}, nil
}

func sameSlice(a, b *discoveryv1.EndpointSlice) bool {
	return apiequality.Semantic.DeepEqual(a.Endpoints, b.Endpoints) &&
		apiequality.Semantic.DeepEqual(a.Ports, b.Ports) &&
		apiequality.Semantic.DeepEqual(a.Labels, b.Labels) &&
		apiequality.Semantic.DeepEqual(a.OwnerReferences, b.OwnerReferences)
}
