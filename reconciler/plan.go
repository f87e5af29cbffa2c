package reconciler

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// Action is what a Change does to one object.
type Action string

// The actions of a plan.
const (
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
)

// Change is one write of a plan.
type Change struct {
	Action   Action
	Key      ObjectKey
	Resource api.Resource
	// File is the manifest the object comes from (create, update).
	File string
	// Object is what to store (create, update): the manifest, defaulted,
	// with the ownership marks and, on update, what the server keeps of the
	// live object. Nil on delete.
	Object runtime.Object
	// Live is the object in the store (update, delete); nil on create.
	Live runtime.Object
}

// Skip is an object the plan leaves alone, and why.
type Skip struct {
	Key    ObjectKey
	Reason string
}

// PlanInput is everything MakePlan looks at.
type PlanInput struct {
	// Source is "<namespace>/<name>" of the Source the plan is for.
	Source string
	// Desired is the revision's objects, validated and defaulted.
	Desired []*Object
	// Live holds the objects now in the store, by key: every desired
	// object, every inventory entry and every namespace the desired objects
	// live in that exists, and any other object found that the Source owns.
	// A missing key means the object does not exist.
	Live map[ObjectKey]runtime.Object
	// Inventory is what the Source applied before (status.inventory).
	Inventory []gitopsv1alpha1.InventoryEntry
	// Prune deletes objects the Source owned that the revision dropped.
	Prune bool
}

// Plan is what a sync writes, and what it leaves as it is.
type Plan struct {
	// Changes in the order they are applied: creates and updates by rank
	// (namespaces, configuration, services, workloads, the rest), then
	// deletes in the reverse rank order.
	Changes []Change
	// Unchanged counts the desired objects whose live state already is the
	// desired one.
	Unchanged int
	// Skipped lists objects left alone: annotated
	// gitops.navarch.dev/reconcile: disabled, being deleted, or a namespace
	// still in use.
	Skipped []Skip
	// Inventory is the Source's inventory after the plan is applied: every
	// desired object.
	Inventory []gitopsv1alpha1.InventoryEntry
	// Problems are reasons the plan may not be applied: an object another
	// Source owns, a namespace that does not exist or is being deleted.
	Problems Problems
}

// Counts returns how many objects the plan creates, updates and deletes.
func (p *Plan) Counts() (created, updated, deleted int) {
	for _, c := range p.Changes {
		switch c.Action {
		case ActionCreate:
			created++
		case ActionUpdate:
			updated++
		case ActionDelete:
			deleted++
		}
	}
	return created, updated, deleted
}

// MakePlan compares a revision with the live objects and returns the
// writes that make the store hold the revision. It is a pure function: no
// I/O, no clock.
//
// A desired object missing from the store is created (also when it was
// deleted by hand); one that differs from the store after the server's own
// fields are kept (uid, creation time, generation, status, allocated
// cluster IPs, controllers' annotations) is updated — so a change made by
// hand is put back — and an equal one is left unwritten. Objects the
// Source owned before (its inventory, or the ownership annotation) that the
// revision no longer has are deleted when in.Prune is set. Objects, live or
// desired, annotated gitops.navarch.dev/reconcile: disabled are neither
// updated nor deleted; they are created when missing.
func MakePlan(in PlanInput) Plan {
	var plan Plan
	desired := make(map[ObjectKey]bool, len(in.Desired))
	usedNamespaces := map[string]bool{}
	keys := make([]ObjectKey, 0, len(in.Desired))
	for _, o := range in.Desired {
		k := o.Key()
		desired[k] = true
		keys = append(keys, k)
		if k.Namespace != "" {
			usedNamespaces[k.Namespace] = true
		}
	}
	plan.Inventory = inventoryOf(keys)
	plan.Problems = namespaceProblems(in, desired)

	for _, o := range in.Desired {
		planDesired(&plan, in, o)
	}
	for _, k := range pruneCandidates(in, desired) {
		planPrune(&plan, in, k, usedNamespaces)
	}
	sortChanges(plan.Changes)
	sort.Slice(plan.Skipped, func(i, j int) bool { return lessKey(plan.Skipped[i].Key, plan.Skipped[j].Key) })
	return plan
}

// planDesired adds what one desired object needs.
func planDesired(plan *Plan, in PlanInput, o *Object) {
	k := o.Key()
	live, exists := in.Live[k]
	if exists {
		if owner := ownerOf(live); owner != "" && owner != in.Source {
			plan.Problems = append(plan.Problems, invalidOwnership(o.File, k, owner))
			return
		}
	}
	switch {
	case !exists:
		obj := o.Object.DeepCopyObject()
		markOwned(obj, in.Source)
		setTypeMeta(obj, o.Resource)
		plan.Changes = append(plan.Changes, Change{Action: ActionCreate, Key: k, Resource: o.Resource, File: o.File, Object: obj})
	case metaOf(live).GetDeletionTimestamp() != nil:
		plan.Skipped = append(plan.Skipped, Skip{Key: k, Reason: "being deleted; created again once it is gone"})
	case reconcileDisabled(live) || reconcileDisabled(o.Object):
		plan.Skipped = append(plan.Skipped, Skip{Key: k, Reason: gitopsv1alpha1.AnnotationReconcile + ": disabled"})
	default:
		obj, err := mergeForUpdate(o, live, in.Source)
		if err != nil {
			plan.Problems = append(plan.Problems, Problem{File: o.File, Object: k.String(), Message: err.Error()})
			return
		}
		if equalStored(obj, live, o.Resource) {
			plan.Unchanged++
			return
		}
		plan.Changes = append(plan.Changes, Change{Action: ActionUpdate, Key: k, Resource: o.Resource, File: o.File, Object: obj, Live: live})
	}
}

// pruneCandidates are the objects the Source owned that the revision does
// not declare: its inventory and the live objects carrying its ownership
// annotation (found even when a status write was lost).
func pruneCandidates(in PlanInput, desired map[ObjectKey]bool) []ObjectKey {
	seen := map[ObjectKey]bool{}
	var out []ObjectKey
	add := func(k ObjectKey) {
		if !desired[k] && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, e := range in.Inventory {
		add(KeyOfEntry(e))
	}
	for k, live := range in.Live {
		if ownerOf(live) == in.Source {
			add(k)
		}
	}
	return out
}

// planPrune deletes one object the revision dropped, when allowed.
func planPrune(plan *Plan, in PlanInput, k ObjectKey, usedNamespaces map[string]bool) {
	live, exists := in.Live[k]
	if !exists || !in.Prune {
		return
	}
	res, ok := resourceOf(k)
	switch {
	case !ok:
		plan.Skipped = append(plan.Skipped, Skip{Key: k, Reason: "kind no longer served; not pruned"})
	case ownerOf(live) != in.Source:
		plan.Skipped = append(plan.Skipped, Skip{Key: k, Reason: "no longer marked as this Source's; not pruned"})
	case reconcileDisabled(live):
		plan.Skipped = append(plan.Skipped, Skip{Key: k, Reason: gitopsv1alpha1.AnnotationReconcile + ": disabled; not pruned"})
	case metaOf(live).GetDeletionTimestamp() != nil:
		// Already on its way out.
	case k.Kind == "Namespace" && k.Group == "" && usedNamespaces[k.Name]:
		plan.Skipped = append(plan.Skipped, Skip{Key: k, Reason: "objects of the revision live in it; not pruned"})
	default:
		plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Key: k, Resource: res, Live: live})
	}
}

// namespaceProblems reports desired objects whose namespace neither exists
// nor is declared, or is being deleted.
func namespaceProblems(in PlanInput, desired map[ObjectKey]bool) Problems {
	var out Problems
	for _, o := range in.Desired {
		k := o.Key()
		if k.Namespace == "" {
			continue
		}
		nsKey := ObjectKey{Kind: "Namespace", Name: k.Namespace}
		live, exists := in.Live[nsKey]
		switch {
		case exists && metaOf(live).GetDeletionTimestamp() != nil:
			out = append(out, Problem{File: o.File, Object: k.String(), Field: "metadata.namespace",
				Message: fmt.Sprintf("namespace %s is being deleted", k.Namespace)})
		case !exists && !desired[nsKey]:
			out = append(out, Problem{File: o.File, Object: k.String(), Field: "metadata.namespace",
				Message: fmt.Sprintf("namespace %s does not exist and the revision does not declare it", k.Namespace)})
		}
	}
	return out
}

// markOwned puts the Source's ownership label and annotation on obj.
func markOwned(obj runtime.Object, source string) {
	m := metaOf(obj)
	labels := m.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[gitopsv1alpha1.LabelSource] = sourceLabelValue(source)
	m.SetLabels(labels)
	ann := m.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[gitopsv1alpha1.AnnotationSource] = source
	m.SetAnnotations(ann)
}

// mergeForUpdate is what an update of live to the desired object stores:
// the manifest with the ownership marks, the labels and annotations that
// controllers own, the owner references, finalizers and managed fields of
// live when the manifest has none, and what api.PrepareForUpdate keeps
// (uid, creation time, generation, status, allocated addresses).
func mergeForUpdate(o *Object, live runtime.Object, source string) (runtime.Object, error) {
	obj := o.Object.DeepCopyObject()
	markOwned(obj, source)
	setTypeMeta(obj, o.Resource)
	m, lm := metaOf(obj), metaOf(live)
	m.SetLabels(keepControllerKeys(m.GetLabels(), lm.GetLabels()))
	m.SetAnnotations(keepControllerKeys(m.GetAnnotations(), lm.GetAnnotations()))
	if len(m.GetOwnerReferences()) == 0 {
		m.SetOwnerReferences(lm.GetOwnerReferences())
	}
	if len(m.GetFinalizers()) == 0 {
		m.SetFinalizers(lm.GetFinalizers())
	}
	m.SetManagedFields(lm.GetManagedFields())
	m.SetResourceVersion("")
	if err := api.PrepareForUpdate(obj, live); err != nil {
		return nil, fmt.Errorf("prepare update: %w", err)
	}
	return obj, nil
}

// keepControllerKeys adds to want the keys of live that controllers write
// (deployment.kubernetes.io/…), which a manifest never holds.
func keepControllerKeys(want, live map[string]string) map[string]string {
	for k, v := range live {
		if _, set := want[k]; set || !controllerOwned(k) {
			continue
		}
		if want == nil {
			want = map[string]string{}
		}
		want[k] = v
	}
	return want
}

// controllerOwned reports whether a label or annotation key belongs to a
// controller rather than to the manifest.
func controllerOwned(key string) bool {
	for _, prefix := range []string{"deployment.kubernetes.io/", "endpoints.kubernetes.io/", "control-plane.alpha.kubernetes.io/"} {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return false
}

// equalStored reports whether storing obj (prepared as an update of live,
// so with live's resourceVersion) over live would change nothing.
func equalStored(obj, live runtime.Object, r api.Resource) bool {
	if metaOf(obj).GetResourceVersion() != metaOf(live).GetResourceVersion() {
		return false
	}
	setTypeMeta(live, r)
	return equality.Semantic.DeepEqual(obj, live)
}

// sortChanges orders creates and updates by rank, then deletes in the
// reverse rank order.
func sortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		di, dj := cs[i].Action == ActionDelete, cs[j].Action == ActionDelete
		switch {
		case di != dj:
			return dj
		case di:
			return lessKey(cs[j].Key, cs[i].Key)
		default:
			return lessKey(cs[i].Key, cs[j].Key)
		}
	})
}

// isNamespace reports whether obj is a Namespace.
func isNamespace(obj runtime.Object) bool {
	_, ok := obj.(*corev1.Namespace)
	return ok
}
