package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// garbageCollector deletes objects whose owners are gone and carries out
// the foreground and orphan propagation policies, over a graph of every
// object's ownerReferences kept from metadata informers (Kubernetes'
// garbage collector, without its virtual nodes: an owner missing from
// the graph is looked up live).
type garbageCollector struct {
	m         *Manager
	loop      *loop
	resources *resourceMap

	mu         sync.RWMutex
	objects    map[types.UID]*gcObject
	dependents map[types.UID]map[types.UID]struct{} // owner UID → dependents, owner present or not
}

// gcObject is what the graph knows of one object.
type gcObject struct {
	res             apiResource
	namespace, name string
	uid             types.UID
	owners          []metav1.OwnerReference
	finalizers      []string
	deleting        bool
}

func (o *gcObject) hasFinalizer(f string) bool { return slices.Contains(o.finalizers, f) }

// ignoredByGC are resources the collector does not watch: events are
// many and never own or are owned.
var ignoredByGC = map[string]bool{"events": true}

func (m *Manager) setUpGarbageCollector(context.Context) error {
	gc := &garbageCollector{m: m, objects: map[types.UID]*gcObject{}, dependents: map[types.UID]map[types.UID]struct{}{}}
	gc.loop = newLoop(GarbageCollectorController, max(m.opts.Workers, 10), gc, m.log)
	m.background = append(m.background, gc.run)
	return nil
}

// run discovers the resources, starts a metadata informer for each,
// waits for them to sync and then works the queue.
func (gc *garbageCollector) run(ctx context.Context) {
	res, err := gc.m.discoverResources(ctx)
	if err != nil {
		return
	}
	gc.resources = res
	f := metadatainformer.NewSharedInformerFactoryWithOptions(gc.m.meta, 0, metadatainformer.WithTransform(stripManagedFields))
	for _, r := range res.list {
		if ignoredByGC[r.gvr.Resource] {
			continue
		}
		if _, err := f.ForResource(r.gvr).Informer().AddEventHandler(gc.handler(r)); err != nil {
			gc.m.log.Warn("garbage collector: watch", "resource", r.gvr.String(), "error", err)
		}
	}
	f.Start(ctx.Done())
	defer f.Shutdown()
	f.WaitForCacheSync(ctx.Done())
	gc.loop.run(ctx)
}

func (gc *garbageCollector) handler(r apiResource) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { gc.upsert(r, obj) },
		UpdateFunc: func(_, cur any) { gc.upsert(r, cur) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if m, ok := obj.(metav1.Object); ok {
				gc.remove(m)
			}
		},
	}
}

// upsert records an object and queues what its change may affect.
func (gc *garbageCollector) upsert(r apiResource, obj any) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	o := &gcObject{res: r, namespace: m.GetNamespace(), name: m.GetName(), uid: m.GetUID(),
		owners: m.GetOwnerReferences(), finalizers: m.GetFinalizers(), deleting: m.GetDeletionTimestamp() != nil}
	gc.mu.Lock()
	old := gc.objects[o.uid]
	gc.objects[o.uid] = o
	if old != nil {
		gc.unlinkLocked(old)
	}
	for _, ref := range o.owners {
		deps := gc.dependents[ref.UID]
		if deps == nil {
			deps = map[types.UID]struct{}{}
			gc.dependents[ref.UID] = deps
		}
		deps[o.uid] = struct{}{}
	}
	gc.mu.Unlock()
	changed := old == nil || !slices.Equal(ownerUIDs(old.owners), ownerUIDs(o.owners)) ||
		old.deleting != o.deleting || !slices.Equal(old.finalizers, o.finalizers)
	if !changed {
		return
	}
	if len(o.owners) > 0 || (o.deleting && (o.hasFinalizer(metav1.FinalizerOrphanDependents) || o.hasFinalizer(metav1.FinalizerDeleteDependents))) {
		gc.loop.add(string(o.uid))
	}
	if old != nil {
		// Owners it left (or that wait for it) look again.
		for _, ref := range old.owners {
			gc.loop.add(string(ref.UID))
		}
	}
}

func ownerUIDs(refs []metav1.OwnerReference) []types.UID {
	out := make([]types.UID, len(refs))
	for i, r := range refs {
		out[i] = r.UID
	}
	return out
}

func (gc *garbageCollector) unlinkLocked(o *gcObject) {
	for _, ref := range o.owners {
		if deps := gc.dependents[ref.UID]; deps != nil {
			delete(deps, o.uid)
			if len(deps) == 0 {
				delete(gc.dependents, ref.UID)
			}
		}
	}
}

// remove forgets a deleted object; its dependents (now perhaps orphans)
// and its owners (perhaps waiting for it) look again.
func (gc *garbageCollector) remove(m metav1.Object) {
	gc.mu.Lock()
	o := gc.objects[m.GetUID()]
	delete(gc.objects, m.GetUID())
	if o != nil {
		gc.unlinkLocked(o)
	}
	var queue []types.UID
	for uid := range gc.dependents[m.GetUID()] {
		queue = append(queue, uid)
	}
	gc.mu.Unlock()
	for _, uid := range queue {
		gc.loop.add(string(uid))
	}
	for _, ref := range m.GetOwnerReferences() {
		gc.loop.add(string(ref.UID))
	}
}

// lookup returns the graph's copy of an object, or nil.
func (gc *garbageCollector) lookup(uid types.UID) *gcObject {
	gc.mu.RLock()
	defer gc.mu.RUnlock()
	return gc.objects[uid]
}

// dependentsOf returns the objects in the graph that name uid as owner.
func (gc *garbageCollector) dependentsOf(uid types.UID) []*gcObject {
	gc.mu.RLock()
	defer gc.mu.RUnlock()
	var out []*gcObject
	for d := range gc.dependents[uid] {
		if o := gc.objects[d]; o != nil {
			out = append(out, o)
		}
	}
	return out
}

// Reconcile looks at one object (by UID): an owner being deleted with the
// orphan or foreground finalizer has its dependents released or deleted;
// a dependent whose owners are all gone is deleted.
func (gc *garbageCollector) Reconcile(ctx context.Context, key string) (Result, error) {
	o := gc.lookup(types.UID(key))
	if o == nil {
		return Result{}, nil
	}
	switch {
	case o.deleting && o.hasFinalizer(metav1.FinalizerOrphanDependents):
		return Result{}, gc.orphanDependents(ctx, o)
	case o.deleting && o.hasFinalizer(metav1.FinalizerDeleteDependents):
		return Result{}, gc.deleteDependents(ctx, o)
	case o.deleting || len(o.owners) == 0:
		return Result{}, nil
	}
	return Result{}, gc.collectIfOrphaned(ctx, o)
}

// ownerState is how one owner of a dependent stands.
type ownerState int

const (
	ownerPresent ownerState = iota
	ownerGone
	ownerWaiting // being deleted in the foreground: its dependents go first
)

// ownerState finds the owner in the graph, or asks the API server (the
// graph may not have seen a new owner yet).
func (gc *garbageCollector) ownerState(ctx context.Context, dependent *gcObject, ref metav1.OwnerReference) (ownerState, error) {
	if o := gc.lookup(ref.UID); o != nil {
		if o.deleting && o.hasFinalizer(metav1.FinalizerDeleteDependents) {
			return ownerWaiting, nil
		}
		return ownerPresent, nil
	}
	res, ok := gc.resources.lookup(ref.APIVersion, ref.Kind)
	if !ok {
		return ownerPresent, nil // an owner of a kind navarch does not serve: leave the dependent alone
	}
	ns := ""
	if res.namespaced {
		ns = dependent.namespace
	}
	live, err := gc.m.meta.Resource(res.gvr).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return ownerGone, nil
	case err != nil:
		return ownerPresent, fmt.Errorf("look up owner %s %s/%s: %w", ref.Kind, ns, ref.Name, err)
	case live.UID != ref.UID:
		return ownerGone, nil
	case live.DeletionTimestamp != nil && slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents):
		return ownerWaiting, nil
	}
	return ownerPresent, nil
}

// collectIfOrphaned deletes a dependent whose owners are all gone (in the
// foreground when one of them waits for it), or drops the references to
// gone owners when others remain. The graph may be behind the object (an
// owner deleted with the orphan policy releases it just before going), so
// what the graph suggests is decided again on the object as it is stored,
// and done to that version only.
func (gc *garbageCollector) collectIfOrphaned(ctx context.Context, o *gcObject) error {
	_, gone, waiting, err := gc.classifyOwners(ctx, o, o.owners)
	if err != nil || len(gone)+len(waiting) == 0 {
		return err
	}
	live, err := gc.m.meta.Resource(o.res.gvr).Namespace(o.namespace).Get(ctx, o.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && live.UID != o.uid) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s %s/%s: %w", o.res.gvr.Resource, o.namespace, o.name, err)
	}
	if len(live.OwnerReferences) == 0 || live.DeletionTimestamp != nil {
		return nil
	}
	present, gone, waiting, err := gc.classifyOwners(ctx, o, live.OwnerReferences)
	if err != nil {
		return err
	}
	if len(present) > 0 {
		if len(gone)+len(waiting) == 0 {
			return nil
		}
		return gc.patchMeta(ctx, o, map[string]any{"ownerReferences": present, "resourceVersion": live.ResourceVersion})
	}
	policy := metav1.DeletePropagationBackground
	switch {
	case len(waiting) > 0 || slices.Contains(live.Finalizers, metav1.FinalizerDeleteDependents):
		policy = metav1.DeletePropagationForeground
	case slices.Contains(live.Finalizers, metav1.FinalizerOrphanDependents):
		policy = metav1.DeletePropagationOrphan
	}
	gc.m.log.Debug("collecting object whose owners are gone", "resource", o.res.gvr.Resource, "object", o.namespace+"/"+o.name, "policy", policy)
	return gc.delete(ctx, o, policy, live.ResourceVersion)
}

// classifyOwners sorts a dependent's owner references by how the owners
// stand.
func (gc *garbageCollector) classifyOwners(ctx context.Context, o *gcObject, refs []metav1.OwnerReference) (present, gone, waiting []metav1.OwnerReference, err error) {
	for _, ref := range refs {
		st, err := gc.ownerState(ctx, o, ref)
		if err != nil {
			return nil, nil, nil, err
		}
		switch st {
		case ownerPresent:
			present = append(present, ref)
		case ownerGone:
			gone = append(gone, ref)
		case ownerWaiting:
			waiting = append(waiting, ref)
		}
	}
	return present, gone, waiting, nil
}

// delete deletes o with its UID, and with rv its resourceVersion too, as
// precondition. A conflict on the UID (o was replaced) is done with; one
// on rv (o changed since it was read) is an error, so o is looked at
// again.
func (gc *garbageCollector) delete(ctx context.Context, o *gcObject, policy metav1.DeletionPropagation, rv string) error {
	pre := &metav1.Preconditions{UID: &o.uid}
	if rv != "" {
		pre.ResourceVersion = &rv
	}
	err := gc.m.meta.Resource(o.res.gvr).Namespace(o.namespace).Delete(ctx, o.name, metav1.DeleteOptions{
		Preconditions: pre, PropagationPolicy: &policy,
	})
	if err != nil && !apierrors.IsNotFound(err) && !(apierrors.IsConflict(err) && rv == "") {
		return fmt.Errorf("delete %s %s/%s: %w", o.res.gvr.Resource, o.namespace, o.name, err)
	}
	return nil
}

// orphanDependents removes the owner's reference from every dependent,
// then the orphan finalizer from the owner.
func (gc *garbageCollector) orphanDependents(ctx context.Context, owner *gcObject) error {
	for _, d := range gc.dependentsOf(owner.uid) {
		keep := slices.DeleteFunc(slices.Clone(d.owners), func(r metav1.OwnerReference) bool { return r.UID == owner.uid })
		if err := gc.setOwners(ctx, d, keep); err != nil {
			return err
		}
	}
	return gc.removeFinalizer(ctx, owner, metav1.FinalizerOrphanDependents)
}

// deleteDependents deletes the dependents of an owner deleted in the
// foreground, and removes its finalizer once none that blocks its
// deletion (blockOwnerDeletion) remains.
func (gc *garbageCollector) deleteDependents(ctx context.Context, owner *gcObject) error {
	blocked := false
	for _, d := range gc.dependentsOf(owner.uid) {
		if !d.deleting {
			if err := gc.delete(ctx, d, metav1.DeletePropagationForeground, ""); err != nil {
				return err
			}
		}
		for _, r := range d.owners {
			if r.UID == owner.uid && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
				blocked = true
			}
		}
	}
	if blocked {
		return nil // the dependents' deletion events bring the owner back
	}
	return gc.removeFinalizer(ctx, owner, metav1.FinalizerDeleteDependents)
}

// setOwners replaces an object's ownerReferences, guarded by its UID.
func (gc *garbageCollector) setOwners(ctx context.Context, o *gcObject, refs []metav1.OwnerReference) error {
	if refs == nil {
		refs = []metav1.OwnerReference{}
	}
	return gc.patchMeta(ctx, o, map[string]any{"ownerReferences": refs})
}

// removeFinalizer removes one finalizer, reading the current list first
// so a concurrent change of another finalizer is not lost.
func (gc *garbageCollector) removeFinalizer(ctx context.Context, o *gcObject, f string) error {
	client := gc.m.meta.Resource(o.res.gvr).Namespace(o.namespace)
	live, err := client.Get(ctx, o.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && live.UID != o.uid) {
		return nil
	}
	if err != nil {
		return err
	}
	if !slices.Contains(live.Finalizers, f) {
		return nil
	}
	rest := slices.DeleteFunc(slices.Clone(live.Finalizers), func(s string) bool { return s == f })
	if rest == nil {
		rest = []string{}
	}
	return gc.patchMeta(ctx, o, map[string]any{"finalizers": rest, "resourceVersion": live.ResourceVersion})
}

// patchMeta merge-patches metadata fields with the UID as precondition.
func (gc *garbageCollector) patchMeta(ctx context.Context, o *gcObject, fields map[string]any) error {
	fields["uid"] = o.uid
	body, err := json.Marshal(map[string]any{"metadata": fields})
	if err != nil {
		return err
	}
	_, err = gc.m.meta.Resource(o.res.gvr).Namespace(o.namespace).Patch(ctx, o.name, types.MergePatchType, body, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("patch %s %s/%s: %w", o.res.gvr.Resource, o.namespace, o.name, err)
	}
	return nil
}
