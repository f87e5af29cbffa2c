package api

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// Resource describes one served resource: everything discovery, routing,
// OpenAPI and storage need to know about it.
type Resource struct {
	// GroupVersionResource is the resource's group, version and plural name.
	schema.GroupVersionResource
	// Kind and ListKind name the object and list types.
	Kind, ListKind string
	// Singular is the lower-case singular name ("pod").
	Singular string
	// ShortNames are kubectl's abbreviations ("po").
	ShortNames []string
	// Categories such as "all", which `kubectl get all` expands.
	Categories []string
	// Namespaced is true for namespaced resources, false for cluster-scoped.
	Namespaced bool
	// Subresources served besides the main resource: "status", "scale",
	// "binding", "log".
	Subresources []string
	// New returns an empty object of Kind; NewList an empty list.
	New, NewList func() runtime.Object
}

// GroupVersionKind returns the resource's kind with its group-version.
func (r Resource) GroupVersionKind() schema.GroupVersionKind {
	return r.GroupVersion().WithKind(r.Kind)
}

// HasSubresource reports whether sub is served for r.
func (r Resource) HasSubresource(sub string) bool {
	for _, s := range r.Subresources {
		if s == sub {
			return true
		}
	}
	return false
}

// StorageKey returns the etcd key of the object: /registry/<group>/<resource>/<namespace>/<name>
// for namespaced resources and /registry/<group>/<resource>/<name> for
// cluster-scoped ones. The core group is spelled "core". With an empty name
// it returns the prefix under which List and Watch find every object of the
// namespace (or, with an empty namespace as well, of the resource), ending
// in "/".
func (r Resource) StorageKey(namespace, name string) string {
	group := r.Group
	if group == "" {
		group = "core"
	}
	prefix := "/registry/" + group + "/" + r.GroupVersionResource.Resource + "/"
	if r.Namespaced && namespace != "" {
		prefix += namespace + "/"
	}
	return prefix + name
}

var all = []Resource{
	{GroupVersionResource: corev1.SchemeGroupVersion.WithResource("namespaces"), Kind: "Namespace", Singular: "namespace", ShortNames: []string{"ns"}, Subresources: []string{"status", "finalize"}},
	{GroupVersionResource: corev1.SchemeGroupVersion.WithResource("pods"), Kind: "Pod", Singular: "pod", ShortNames: []string{"po"}, Categories: []string{"all"}, Namespaced: true, Subresources: []string{"status", "binding", "log"}},
	{GroupVersionResource: corev1.SchemeGroupVersion.WithResource("nodes"), Kind: "Node", Singular: "node", ShortNames: []string{"no"}, Subresources: []string{"status"}},
	{GroupVersionResource: corev1.SchemeGroupVersion.WithResource("services"), Kind: "Service", Singular: "service", ShortNames: []string{"svc"}, Categories: []string{"all"}, Namespaced: true, Subresources: []string{"status"}},
	{GroupVersionResource: corev1.SchemeGroupVersion.WithResource("endpoints"), Kind: "Endpoints", Singular: "endpoints", ShortNames: []string{"ep"}, Namespaced: true},
	{GroupVersionResource: corev1.SchemeGroupVersion.WithResource("configmaps"), Kind: "ConfigMap", Singular: "configmap", ShortNames: []string{"cm"}, Namespaced: true},
	{GroupVersionResource: corev1.SchemeGroupVersion.WithResource("secrets"), Kind: "Secret", Singular: "secret", Namespaced: true},
	{GroupVersionResource: corev1.SchemeGroupVersion.WithResource("events"), Kind: "Event", Singular: "event", ShortNames: []string{"ev"}, Namespaced: true},
	{GroupVersionResource: corev1.SchemeGroupVersion.WithResource("serviceaccounts"), Kind: "ServiceAccount", Singular: "serviceaccount", ShortNames: []string{"sa"}, Namespaced: true},
	{GroupVersionResource: appsv1.SchemeGroupVersion.WithResource("deployments"), Kind: "Deployment", Singular: "deployment", ShortNames: []string{"deploy"}, Categories: []string{"all"}, Namespaced: true, Subresources: []string{"status", "scale"}},
	{GroupVersionResource: appsv1.SchemeGroupVersion.WithResource("replicasets"), Kind: "ReplicaSet", Singular: "replicaset", ShortNames: []string{"rs"}, Categories: []string{"all"}, Namespaced: true, Subresources: []string{"status", "scale"}},
	{GroupVersionResource: coordinationv1.SchemeGroupVersion.WithResource("leases"), Kind: "Lease", Singular: "lease", Namespaced: true},
	{GroupVersionResource: discoveryv1.SchemeGroupVersion.WithResource("endpointslices"), Kind: "EndpointSlice", Singular: "endpointslice", Namespaced: true},
	{GroupVersionResource: gitopsv1alpha1.SchemeGroupVersion.WithResource("sources"), Kind: "Source", Singular: "source", ShortNames: []string{"src"}, Categories: []string{"gitops"}, Namespaced: true, Subresources: []string{"status"}},
}

var (
	byGVR  = map[schema.GroupVersionResource]Resource{}
	byGVK  = map[schema.GroupVersionKind]Resource{}
	groups []schema.GroupVersion
)

func init() {
	seen := map[schema.GroupVersion]bool{}
	for i := range all {
		r := &all[i]
		r.ListKind = r.Kind + "List"
		gvk, listGVK := r.GroupVersionKind(), r.GroupVersion().WithKind(r.ListKind)
		r.New = func() runtime.Object { o, _ := Scheme.New(gvk); return o }
		r.NewList = func() runtime.Object { o, _ := Scheme.New(listGVK); return o }
		if _, err := Scheme.New(gvk); err != nil {
			panic(fmt.Sprintf("api: resource %s: kind not in scheme: %v", r.GroupVersionResource, err))
		}
		byGVR[r.GroupVersionResource] = *r
		byGVK[gvk] = *r
		if gv := r.GroupVersion(); !seen[gv] {
			seen[gv] = true
			groups = append(groups, gv)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		// The core group first, then the others by name, as Kubernetes lists them.
		return groups[i].Group == "" && groups[j].Group != "" || groups[i].Group != "" && groups[j].Group != "" && groups[i].Group < groups[j].Group
	})
}

// Resources returns every served resource, in a fixed order.
func Resources() []Resource {
	return append([]Resource(nil), all...)
}

// GroupVersions returns every served group-version, the core group first.
func GroupVersions() []schema.GroupVersion {
	return append([]schema.GroupVersion(nil), groups...)
}

// LookupResource returns the served resource of a group-version-resource, and
// false when it is not served.
func LookupResource(gvr schema.GroupVersionResource) (Resource, bool) {
	r, ok := byGVR[gvr]
	return r, ok
}

// LookupKind returns the served resource of a group-version-kind, and false
// when the kind is not served.
func LookupKind(gvk schema.GroupVersionKind) (Resource, bool) {
	r, ok := byGVK[gvk]
	return r, ok
}

// ResourceFor returns the served resource of a typed object, using its
// TypeMeta when set and the scheme otherwise.
func ResourceFor(obj runtime.Object) (Resource, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		gvks, _, err := Scheme.ObjectKinds(obj)
		if err != nil {
			return Resource{}, err
		}
		gvk = gvks[0]
	}
	r, ok := byGVK[gvk]
	if !ok {
		return Resource{}, fmt.Errorf("kind %s is not served", gvk)
	}
	return r, nil
}
