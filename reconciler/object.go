package reconciler

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// ObjectKey identifies an object independently of the API version it was
// written in: group, kind, namespace ("" when cluster-scoped) and name.
type ObjectKey struct {
	Group, Kind, Namespace, Name string
}

// String is "Kind namespace/name", or "Kind name" for a cluster-scoped
// object, the way problems and plans name objects.
func (k ObjectKey) String() string {
	if k.Namespace == "" {
		return k.Kind + " " + k.Name
	}
	return k.Kind + " " + k.Namespace + "/" + k.Name
}

// KeyOfEntry returns the key of an inventory entry.
func KeyOfEntry(e gitopsv1alpha1.InventoryEntry) ObjectKey {
	gv, _ := schema.ParseGroupVersion(e.APIVersion)
	return ObjectKey{Group: gv.Group, Kind: e.Kind, Namespace: e.Namespace, Name: e.Name}
}

// resourceOf returns the served resource of a key's group and kind.
func resourceOf(k ObjectKey) (api.Resource, bool) {
	for _, gv := range api.GroupVersions() {
		if gv.Group != k.Group {
			continue
		}
		if r, ok := api.LookupKind(gv.WithKind(k.Kind)); ok {
			return r, true
		}
	}
	return api.Resource{}, false
}

// entryOf returns the inventory entry of a key.
func entryOf(k ObjectKey) gitopsv1alpha1.InventoryEntry {
	apiVersion := k.Group + "/"
	if r, ok := resourceOf(k); ok {
		apiVersion = r.GroupVersion().String()
	}
	return gitopsv1alpha1.InventoryEntry{APIVersion: apiVersion, Kind: k.Kind, Namespace: k.Namespace, Name: k.Name}
}

// Object is one manifest of a revision: where it was read and what it
// decoded to.
type Object struct {
	// File is the manifest's path relative to the Source's spec.path.
	File string
	// Resource is the served resource of the object's kind.
	Resource api.Resource
	// Object is the typed object, with its namespace filled in (and, after
	// Validate, defaulted).
	Object runtime.Object
}

// Key returns the object's key.
func (o *Object) Key() ObjectKey {
	m, _ := meta.Accessor(o.Object)
	return ObjectKey{Group: o.Resource.Group, Kind: o.Resource.Kind, Namespace: m.GetNamespace(), Name: m.GetName()}
}

// SourceKey is "<namespace>/<name>", how the ownership annotation and
// messages name a Source.
func SourceKey(namespace, name string) string { return namespace + "/" + name }

// sourceLabelValue is the ownership label's value: "<namespace>.<name>",
// as a label value cannot hold a slash.
func sourceLabelValue(sourceKey string) string { return strings.Replace(sourceKey, "/", ".", 1) }

// ownerOf returns the Source key in an object's ownership annotation, "" when
// it has none.
func ownerOf(obj runtime.Object) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	return m.GetAnnotations()[gitopsv1alpha1.AnnotationSource]
}

// reconcileDisabled reports whether an object asks to be left alone.
func reconcileDisabled(obj runtime.Object) bool {
	if obj == nil {
		return false
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return false
	}
	return m.GetAnnotations()[gitopsv1alpha1.AnnotationReconcile] == "disabled"
}

// rank orders kinds for apply: namespaces, then what workloads read
// (ConfigMaps, Secrets, ServiceAccounts), then Services, then workloads,
// then the rest. Prunes run in the reverse order.
func rank(kind string) int {
	switch kind {
	case "Namespace":
		return 0
	case "ConfigMap", "Secret", "ServiceAccount":
		return 1
	case "Service":
		return 2
	case "Deployment", "ReplicaSet", "Pod":
		return 3
	default:
		return 4
	}
}

// stageName names a rank, for status messages.
func stageName(r int) string {
	switch r {
	case 0:
		return "namespaces"
	case 1:
		return "configuration"
	case 2:
		return "services"
	case 3:
		return "workloads"
	default:
		return "other objects"
	}
}

// lessKey orders keys by rank, then kind, namespace and name.
func lessKey(a, b ObjectKey) bool {
	if ra, rb := rank(a.Kind), rank(b.Kind); ra != rb {
		return ra < rb
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// inventoryOf returns the sorted inventory entries of keys.
func inventoryOf(keys []ObjectKey) []gitopsv1alpha1.InventoryEntry {
	sorted := append([]ObjectKey(nil), keys...)
	sort.Slice(sorted, func(i, j int) bool { return lessKey(sorted[i], sorted[j]) })
	out := make([]gitopsv1alpha1.InventoryEntry, 0, len(sorted))
	for _, k := range sorted {
		out = append(out, entryOf(k))
	}
	return out
}

// setTypeMeta sets obj's apiVersion and kind from its resource, so that
// what is written and shown always carries them.
func setTypeMeta(obj runtime.Object, r api.Resource) {
	obj.GetObjectKind().SetGroupVersionKind(r.GroupVersionKind())
}

// metaOf is meta.Accessor for objects known to have metadata.
func metaOf(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(fmt.Sprintf("reconciler: %T has no metadata: %v", obj, err))
	}
	return m
}
