package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
)

// deployments is the Deployment controller's shell around PlanRollout.
type deployments struct {
	m        *Manager
	loop     *loop
	lister   appslisters.DeploymentLister
	rsLister appslisters.ReplicaSetLister
}

func (m *Manager) setUpDeployments() error {
	c := &deployments{
		m:        m,
		lister:   m.factory.Apps().V1().Deployments().Lister(),
		rsLister: m.factory.Apps().V1().ReplicaSets().Lister(),
	}
	c.loop = m.newLoop(DeploymentController, c)
	if _, err := m.factory.Apps().V1().Deployments().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.loop.addObject,
		UpdateFunc: func(_, cur any) { c.loop.addObject(cur) },
		DeleteFunc: c.loop.addObject,
	}); err != nil {
		return err
	}
	if _, err := m.factory.Apps().V1().ReplicaSets().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.replicaSetChanged(obj.(*appsv1.ReplicaSet)) },
		UpdateFunc: func(old, cur any) {
			o, n := old.(*appsv1.ReplicaSet), cur.(*appsv1.ReplicaSet)
			if o.ResourceVersion == n.ResourceVersion {
				return
			}
			if ok, nk := c.owner(o), c.owner(n); ok != "" && ok != nk {
				c.loop.add(ok)
			}
			c.replicaSetChanged(n)
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if rs, ok := obj.(*appsv1.ReplicaSet); ok {
				if key := c.owner(rs); key != "" {
					c.loop.add(key)
				}
			}
		},
	}); err != nil {
		return err
	}
	// Recreate waits for old pods to be gone: look again when one goes.
	_, err := m.factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			p, ok := obj.(*corev1.Pod)
			if !ok {
				return
			}
			ref := metav1.GetControllerOfNoCopy(p)
			if ref == nil || ref.Kind != "ReplicaSet" {
				return
			}
			if rs, err := c.rsLister.ReplicaSets(p.Namespace).Get(ref.Name); err == nil && rs.UID == ref.UID {
				key := c.owner(rs)
				if _, name, err := cache.SplitMetaNamespaceKey(key); key != "" && err == nil {
					if d, err := c.lister.Deployments(p.Namespace).Get(name); err == nil &&
						d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
						c.loop.add(key)
					}
				}
			}
		},
	})
	return err
}

// owner returns the key of the Deployment controlling rs, or "".
func (c *deployments) owner(rs *appsv1.ReplicaSet) string {
	ref := metav1.GetControllerOfNoCopy(rs)
	if ref == nil || ref.Kind != "Deployment" {
		return ""
	}
	d, err := c.lister.Deployments(rs.Namespace).Get(ref.Name)
	if err != nil || d.UID != ref.UID {
		return ""
	}
	return rs.Namespace + "/" + d.Name
}

func (c *deployments) replicaSetChanged(rs *appsv1.ReplicaSet) {
	if key := c.owner(rs); key != "" {
		c.loop.add(key)
		return
	}
	if metav1.GetControllerOfNoCopy(rs) != nil {
		return
	}
	ds, _ := c.lister.Deployments(rs.Namespace).List(labels.Everything())
	for _, d := range ds {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			c.loop.add(rs.Namespace + "/" + d.Name)
		}
	}
}

// Reconcile syncs one Deployment: claim its ReplicaSets, plan the rollout
// step, perform the plan's writes in order, then write the Deployment's
// revision annotation and status and record the events.
func (c *deployments) Reconcile(ctx context.Context, key string) (Result, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return Result{}, nil
	}
	cached, err := c.lister.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return Result{}, nil
	}
	if err != nil {
		return Result{}, err
	}
	d := cached.DeepCopy()
	var rss []*appsv1.ReplicaSet
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil && !sel.Empty() {
		if rss, err = c.claimReplicaSets(ctx, d, sel); err != nil {
			return Result{}, err
		}
	}
	plan, err := PlanRollout(RolloutInput{
		Deployment:     d,
		ReplicaSets:    rss,
		OldPodsRunning: c.oldPodsRunning(d, rss),
		Now:            c.m.opts.Now(),
	})
	if err != nil {
		c.m.recorder.Event(d, corev1.EventTypeWarning, "InvalidStrategy", err.Error())
		return Result{}, nil
	}
	if err := c.perform(ctx, d, plan); err != nil {
		return Result{}, err
	}
	return Result{RequeueAfter: plan.RequeueAfter}, nil
}

func (c *deployments) perform(ctx context.Context, d *appsv1.Deployment, plan *RolloutPlan) error {
	rsClient := c.m.cs.AppsV1().ReplicaSets(d.Namespace)
	for _, a := range plan.Actions {
		rs := a.ReplicaSet
		var err error
		switch a.Type {
		case ActionCreate:
			rs.ResourceVersion, rs.CreationTimestamp = "", metav1.Time{}
			_, err = rsClient.Create(ctx, rs, metav1.CreateOptions{})
		case ActionScale, ActionUpdate:
			_, err = rsClient.Update(ctx, rs, metav1.UpdateOptions{})
		case ActionDelete:
			bg := metav1.DeletePropagationBackground
			err = rsClient.Delete(ctx, rs.Name, metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{UID: &rs.UID}, PropagationPolicy: &bg,
			})
			if apierrors.IsNotFound(err) {
				err = nil
			}
		}
		if err != nil {
			if a.Type == ActionCreate && !apierrors.IsAlreadyExists(err) {
				c.m.recorder.Eventf(d, corev1.EventTypeWarning, "FailedCreate", "Failed to create new replica set %q: %v", rs.Name, err)
			}
			return fmt.Errorf("%s replicaset %s/%s: %w", a.Type, rs.Namespace, rs.Name, err)
		}
	}
	for _, e := range plan.Events {
		c.m.recorder.Event(d, e.Type, e.Reason, e.Message)
	}
	if plan.AnnotationsChanged || plan.StatusChanged {
		_, err := c.m.cs.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, plan.Deployment, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("update status of deployment %s/%s: %w", d.Namespace, d.Name, err)
		}
	}
	return nil
}

// claimReplicaSets returns the ReplicaSets d controls after adopting
// matching orphans and releasing its ReplicaSets that no longer match.
func (c *deployments) claimReplicaSets(ctx context.Context, d *appsv1.Deployment, sel labels.Selector) ([]*appsv1.ReplicaSet, error) {
	all, err := c.rsLister.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	claim := ClaimObjects(d, sel, all)
	owned := claim.Owned
	client := c.m.cs.AppsV1().ReplicaSets(d.Namespace)
	if len(claim.Adopt) > 0 {
		fresh, err := c.m.cs.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if fresh.UID == d.UID && fresh.DeletionTimestamp == nil {
			ref := *metav1.NewControllerRef(d, appsv1.SchemeGroupVersion.WithKind("Deployment"))
			for _, rs := range claim.Adopt {
				adopted, err := client.Patch(ctx, rs.Name, types.StrategicMergePatchType, adoptPatch(ref), metav1.PatchOptions{})
				if apierrors.IsNotFound(err) {
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("adopt replicaset %s: %w", rs.Name, err)
				}
				owned = append(owned, adopted)
			}
		}
	}
	for _, rs := range claim.Release {
		if _, err := client.Patch(ctx, rs.Name, types.StrategicMergePatchType, releasePatch(d.UID), metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("release replicaset %s: %w", rs.Name, err)
		}
	}
	return owned, nil
}

// oldPodsRunning reports whether a pod of an old ReplicaSet has not
// finished (Recreate waits for that); false for RollingUpdate, which does
// not ask.
func (c *deployments) oldPodsRunning(d *appsv1.Deployment, rss []*appsv1.ReplicaSet) bool {
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		return false
	}
	newRS := FindNewReplicaSet(d, rss)
	for _, rs := range rss {
		if rs == newRS {
			continue
		}
		if rs.Status.Replicas > 0 {
			return true
		}
		for _, p := range c.m.podsIndexed(byController, string(rs.UID)) {
			if !isPodTerminal(p) {
				return true
			}
		}
	}
	return false
}
