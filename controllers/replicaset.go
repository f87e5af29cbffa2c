package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
)

// replicaSets is the ReplicaSet controller's shell around PlanReplicaSet.
type replicaSets struct {
	m      *Manager
	loop   *loop
	lister appslisters.ReplicaSetLister
	exp    *expectations
}

func (m *Manager) setUpReplicaSets() error {
	c := &replicaSets{m: m, lister: m.factory.Apps().V1().ReplicaSets().Lister(), exp: newExpectations(m.opts.Now)}
	c.loop = m.newLoop(ReplicaSetController, c)
	if _, err := m.factory.Apps().V1().ReplicaSets().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.loop.addObject,
		UpdateFunc: func(_, cur any) { c.loop.addObject(cur) },
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				c.exp.forget(key)
				c.loop.add(key)
			}
		},
	}); err != nil {
		return err
	}
	_, err := m.factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.podAdded(obj.(*corev1.Pod)) },
		UpdateFunc: func(old, cur any) { c.podUpdated(old.(*corev1.Pod), cur.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				c.podDeleted(p)
			}
		},
	})
	return err
}

// owner returns the key of the ReplicaSet controlling p, or "".
func (c *replicaSets) owner(p *corev1.Pod) string {
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return ""
	}
	rs, err := c.lister.ReplicaSets(p.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return ""
	}
	return p.Namespace + "/" + rs.Name
}

// enqueueSelecting queues every ReplicaSet whose selector matches an
// orphan pod, so that one of them adopts it.
func (c *replicaSets) enqueueSelecting(p *corev1.Pod) {
	rss, _ := c.lister.ReplicaSets(p.Namespace).List(labels.Everything())
	for _, rs := range rss {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)) {
			c.loop.add(p.Namespace + "/" + rs.Name)
		}
	}
}

func (c *replicaSets) podAdded(p *corev1.Pod) {
	if p.DeletionTimestamp != nil {
		c.podDeleted(p) // seen for the first time while being deleted
		return
	}
	if key := c.owner(p); key != "" {
		c.exp.creationObserved(key)
		c.loop.add(key)
		return
	}
	if metav1.GetControllerOfNoCopy(p) == nil {
		c.enqueueSelecting(p)
	}
}

func (c *replicaSets) podUpdated(old, cur *corev1.Pod) {
	if cur.ResourceVersion == old.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
		// Being deleted counts as gone for the ReplicaSet, at once.
		c.podDeleted(cur)
	}
	oldKey, curKey := c.owner(old), c.owner(cur)
	if oldKey != "" && oldKey != curKey {
		c.loop.add(oldKey)
	}
	if curKey != "" {
		c.loop.add(curKey)
		if rs, err := c.lister.ReplicaSets(cur.Namespace).Get(metav1.GetControllerOfNoCopy(cur).Name); err == nil &&
			rs.Spec.MinReadySeconds > 0 && !isPodReady(old) && isPodReady(cur) {
			c.loop.addAfter(curKey, time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Millisecond)
		}
		return
	}
	if metav1.GetControllerOfNoCopy(cur) == nil {
		c.enqueueSelecting(cur)
	}
}

func (c *replicaSets) podDeleted(p *corev1.Pod) {
	if key := c.owner(p); key != "" {
		c.exp.deletionObserved(key, p.Namespace+"/"+p.Name)
		c.loop.add(key)
	}
}

// Reconcile syncs one ReplicaSet: claim its pods, create or delete pods
// toward spec.replicas (when earlier writes have been seen), write status.
func (c *replicaSets) Reconcile(ctx context.Context, key string) (Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return Result{}, nil
	}
	cached, err := c.lister.ReplicaSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.forget(key)
		return Result{}, nil
	}
	if err != nil {
		return Result{}, err
	}
	rs := cached.DeepCopy()
	manage := c.exp.satisfied(key)
	sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil || sel.Empty() {
		return Result{}, nil // validation refuses both; nothing safe to do
	}
	pods, err := c.claimPods(ctx, rs, sel)
	if err != nil {
		return Result{}, err
	}
	plan := PlanReplicaSet(ReplicaSetInput{ReplicaSet: rs, Pods: pods, Manage: manage, Now: c.m.opts.Now()})
	var manageErr error
	switch {
	case plan.Create > 0:
		manageErr = c.createPods(ctx, key, rs, plan.Create)
	case len(plan.Delete) > 0:
		manageErr = c.deletePods(ctx, key, rs, plan.Delete)
	}
	if plan.StatusChanged {
		if err := c.updateStatus(ctx, rs, plan.Status); err != nil {
			return Result{}, errors.Join(manageErr, fmt.Errorf("update status of replicaset %s: %w", key, err))
		}
	}
	return Result{RequeueAfter: plan.RequeueAfter}, manageErr
}

// updateStatus writes st; on a conflict (the Deployment controller scaled
// the ReplicaSet meanwhile) it reads the ReplicaSet again and retries
// once, as Kubernetes does: the status counts pods, which the spec change
// does not alter.
func (c *replicaSets) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) error {
	client := c.m.cs.AppsV1().ReplicaSets(rs.Namespace)
	for attempt := 0; ; attempt++ {
		rs.Status = st
		_, err := client.UpdateStatus(ctx, rs, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt == 1 {
			return err
		}
		fresh, gerr := client.Get(ctx, rs.Name, metav1.GetOptions{})
		if gerr != nil || fresh.UID != rs.UID {
			return err
		}
		rs = fresh
	}
}

// claimPods returns the pods rs controls after adopting matching orphans
// and releasing its pods that no longer match.
func (c *replicaSets) claimPods(ctx context.Context, rs *appsv1.ReplicaSet, sel labels.Selector) ([]*corev1.Pod, error) {
	candidates := append(c.m.podsIndexed(byController, string(rs.UID)), c.m.podsIndexed(byController, orphanKey(rs.Namespace))...)
	claim := ClaimObjects(rs, sel, candidates)
	owned := claim.Owned
	pods := c.m.cs.CoreV1().Pods(rs.Namespace)
	if len(claim.Adopt) > 0 {
		// Adopt only if rs is still the one we read (not deleted and
		// recreated under the same name, not being deleted).
		fresh, err := c.m.cs.AppsV1().ReplicaSets(rs.Namespace).Get(ctx, rs.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if fresh.UID == rs.UID && fresh.DeletionTimestamp == nil {
			ref := *metav1.NewControllerRef(rs, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
			for _, p := range claim.Adopt {
				if _, err := pods.Patch(ctx, p.Name, types.StrategicMergePatchType, adoptPatch(ref), metav1.PatchOptions{}); err != nil {
					if apierrors.IsNotFound(err) {
						continue
					}
					return nil, fmt.Errorf("adopt pod %s: %w", p.Name, err)
				}
				owned = append(owned, p)
			}
		}
	}
	for _, p := range claim.Release {
		if _, err := pods.Patch(ctx, p.Name, types.StrategicMergePatchType, releasePatch(rs.UID), metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("release pod %s: %w", p.Name, err)
		}
	}
	return owned, nil
}

// createPods creates n pods in batches of 1, 2, 4 … (Kubernetes' slow
// start), so a template the API refuses fails once, not n times.
func (c *replicaSets) createPods(ctx context.Context, key string, rs *appsv1.ReplicaSet, n int) error {
	c.exp.expect(key, n, nil)
	created := 0
	for batch := 1; created < n; batch = min(2*batch, n-created) {
		batch = min(batch, n-created)
		errs := make([]error, batch)
		var wg sync.WaitGroup
		for i := 0; i < batch; i++ {
			wg.Go(func() {
				p, err := c.m.cs.CoreV1().Pods(rs.Namespace).Create(ctx, PodFromTemplate(rs), metav1.CreateOptions{})
				if err != nil {
					errs[i] = err
					c.exp.creationObserved(key) // will never be seen
					c.m.recorder.Eventf(rs, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
					return
				}
				c.m.recorder.Eventf(rs, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", p.Name)
			})
		}
		wg.Wait()
		created += batch
		if err := errors.Join(errs...); err != nil {
			for ; created < n; created++ {
				c.exp.creationObserved(key) // skipped
			}
			return fmt.Errorf("create pods for replicaset %s: %w", key, err)
		}
	}
	return nil
}

// deletePods deletes the chosen pods in parallel.
func (c *replicaSets) deletePods(ctx context.Context, key string, rs *appsv1.ReplicaSet, pods []*corev1.Pod) error {
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = p.Namespace + "/" + p.Name
	}
	c.exp.expect(key, 0, keys)
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Go(func() {
			err := c.m.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{UID: &p.UID},
			})
			if err != nil {
				c.exp.deletionObserved(key, keys[i])
				if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
					errs[i] = err
					c.m.recorder.Eventf(rs, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
				}
				return
			}
			c.m.recorder.Eventf(rs, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", p.Name)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete pods of replicaset %s: %w", key, err)
	}
	return nil
}
