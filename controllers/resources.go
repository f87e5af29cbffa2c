package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// apiResource is one resource the garbage collector and the namespace
// controller work on.
type apiResource struct {
	gvr        schema.GroupVersionResource
	kind       string
	namespaced bool
}

// resourceMap is what discovery says about the deletable resources: by
// kind (for ownerReferences) and in order.
type resourceMap struct {
	list   []apiResource
	byKind map[schema.GroupVersionKind]apiResource
}

// lookup finds the resource of an ownerReference's apiVersion and kind.
func (r *resourceMap) lookup(apiVersion, kind string) (apiResource, bool) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return apiResource{}, false
	}
	res, ok := r.byKind[gv.WithKind(kind)]
	return res, ok
}

// discoverResources asks the API server for every resource (preferred
// versions) that can be listed, watched and deleted, retrying until it
// answers or ctx ends.
func (m *Manager) discoverResources(ctx context.Context) (*resourceMap, error) {
	for {
		lists, err := m.cs.Discovery().ServerPreferredResources()
		if err == nil {
			return newResourceMap(lists), nil
		}
		m.log.Warn("discovery failed; retrying", "error", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("discover resources: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

func newResourceMap(lists []*metav1.APIResourceList) *resourceMap {
	r := &resourceMap{byKind: map[schema.GroupVersionKind]apiResource{}}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, res := range l.APIResources {
			if slices.Contains([]byte(res.Name), '/') {
				continue // a subresource
			}
			verbs := res.Verbs
			if !slices.Contains(verbs, "list") || !slices.Contains(verbs, "watch") || !slices.Contains(verbs, "delete") {
				continue
			}
			a := apiResource{gvr: gv.WithResource(res.Name), kind: res.Kind, namespaced: res.Namespaced}
			r.list = append(r.list, a)
			r.byKind[gv.WithKind(res.Kind)] = a
		}
	}
	return r
}
