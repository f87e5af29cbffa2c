package reconciler

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/store"
)

// LiveReader lists the objects a plan compares a revision with.
//
// List returns every object of res in namespace (for a cluster-scoped
// resource namespace is ""), typed, with their resourceVersions. The
// reconciler reads the store it writes to (StoreReader), so that the
// resourceVersions it plans with are the ones its transaction checks; the
// CLI reads through the API (ClientReader).
type LiveReader interface {
	List(ctx context.Context, res api.Resource, namespace string) ([]runtime.Object, error)
}

// StoreReader reads live objects from the store.
type StoreReader struct{ Store *store.Store }

var _ LiveReader = StoreReader{}

// List implements LiveReader.
func (r StoreReader) List(ctx context.Context, res api.Resource, namespace string) ([]runtime.Object, error) {
	out, err := r.Store.List(ctx, res.StorageKey(namespace, ""), store.ListOptions{}, res.New)
	if err != nil {
		return nil, err
	}
	return out.Items, nil
}

// ClientReader reads live objects through the API server.
type ClientReader struct{ Client dynamic.Interface }

var _ LiveReader = ClientReader{}

// List implements LiveReader.
func (r ClientReader) List(ctx context.Context, res api.Resource, namespace string) ([]runtime.Object, error) {
	list, err := r.Client.Resource(res.GroupVersionResource).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Object, 0, len(list.Items))
	for i := range list.Items {
		obj := res.New()
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, obj); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", res.Kind, list.Items[i].GetName(), err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// ReadLive gathers what MakePlan needs from r: the live objects of every
// desired and inventory key, every Namespace, and the other objects of the
// same resources and namespaces that carry source's ownership annotation.
// It lists each resource once per namespace involved.
func ReadLive(ctx context.Context, r LiveReader, source string, desired []*Object, inventory []gitopsv1alpha1.InventoryEntry) (map[ObjectKey]runtime.Object, error) {
	type scope struct {
		res       api.Resource
		namespace string
	}
	type scopeKey struct {
		gvr       schema.GroupVersionResource
		namespace string
	}
	wanted := map[ObjectKey]bool{}
	var scopes []scope
	seen := map[scopeKey]bool{}
	addKey := func(k ObjectKey) {
		wanted[k] = true
		res, ok := resourceOf(k)
		if !ok {
			return
		}
		s := scope{res: res, namespace: k.Namespace}
		if !res.Namespaced {
			s.namespace = ""
		}
		key := scopeKey{gvr: res.GroupVersionResource, namespace: s.namespace}
		if !seen[key] {
			seen[key] = true
			scopes = append(scopes, s)
		}
	}
	for _, o := range desired {
		addKey(o.Key())
	}
	for _, e := range inventory {
		addKey(KeyOfEntry(e))
	}
	nsRes, _ := api.LookupResource(corev1.SchemeGroupVersion.WithResource("namespaces"))
	if !seen[scopeKey{gvr: nsRes.GroupVersionResource}] {
		scopes = append(scopes, scope{res: nsRes})
	}
	live := map[ObjectKey]runtime.Object{}
	for _, s := range scopes {
		items, err := r.List(ctx, s.res, s.namespace)
		if err != nil {
			return nil, fmt.Errorf("list %s in %q: %w", s.res.Resource, s.namespace, err)
		}
		for _, obj := range items {
			setTypeMeta(obj, s.res)
			m := metaOf(obj)
			k := ObjectKey{Group: s.res.Group, Kind: s.res.Kind, Namespace: m.GetNamespace(), Name: m.GetName()}
			if wanted[k] || s.res.Kind == "Namespace" && s.res.Group == "" || ownerOf(obj) == source {
				live[k] = obj
			}
		}
	}
	return live, nil
}

// PlanSync plans the sync of a Source to the desired objects (Desired,
// without problems) as the reconciler does: it reads the live objects
// through r (ReadLive) and compares them with the desired ones, the
// Source's inventory and spec.prune (MakePlan). It fails only when r
// does; what is wrong with the plan itself is in Plan.Problems.
func PlanSync(ctx context.Context, r LiveReader, src *gitopsv1alpha1.Source, desired []*Object) (Plan, error) {
	key := SourceKey(src.Namespace, src.Name)
	live, err := ReadLive(ctx, r, key, desired, src.Status.Inventory)
	if err != nil {
		return Plan{}, fmt.Errorf("read live objects: %w", err)
	}
	return MakePlan(PlanInput{Source: key, Desired: desired, Live: live, Inventory: src.Status.Inventory, Prune: src.Spec.Prune}), nil
}
