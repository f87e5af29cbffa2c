package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/navarch/navarch/api"
)

// Version is the info.version of every document.
const Version = "v1.37.2-navarch"

// ErrBuild is wrapped by the errors Documents and Schemas return when a
// resource's types cannot be described (a Go type without a schema, two
// types under one component name, an unknown subresource).
var ErrBuild = errors.New("build openapi")

func errUnknownSubresource(r api.Resource, sub string) error {
	return fmt.Errorf("resource %s: unknown subresource %q", r.GroupVersionResource, sub)
}

// Documents returns the OpenAPI v3 document of each group-version of
// resources, as JSON, keyed by the path kube-apiserver serves it under
// ("api/v1", "apis/apps/v1" …). Each document has the group-version's paths
// (list, create and deletecollection on the collection; get, put, patch
// and delete on the item; the subresources) and the component schemas they
// reach.
func Documents(resources []api.Resource) (map[string][]byte, error) {
	byGV, groups := groupResources(resources)
	docs := make(map[string][]byte, len(byGV))
	for gv, rs := range byGV {
		doc, err := document(gv, rs, groups)
		if err != nil {
			return nil, err
		}
		data, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("%w: encode %s: %v", ErrBuild, gv, err)
		}
		docs[DocumentPath(gv)] = data
	}
	return docs, nil
}

// Schemas returns every component schema of every group-version of
// resources in one map keyed by component name, in the form
// k8s.io/apimachinery/pkg/util/managedfields.NewTypeConverter takes for
// server-side apply.
func Schemas(resources []api.Resource) (map[string]*spec.Schema, error) {
	byGV, groups := groupResources(resources)
	out := map[string]*spec.Schema{}
	for gv, rs := range byGV {
		doc, err := document(gv, rs, groups)
		if err != nil {
			return nil, err
		}
		for name, s := range doc.Components.Schemas {
			out[name] = s
		}
	}
	return out, nil
}

// DocumentPath returns the key of a group-version's document: "api/v1" for
// the core group, "apis/<group>/<version>" otherwise.
func DocumentPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// groupResources splits resources by group-version and maps the Go package
// of each served kind outside k8s.io to its group-version.
func groupResources(resources []api.Resource) (map[schema.GroupVersion][]api.Resource, map[string]schema.GroupVersion) {
	byGV := map[schema.GroupVersion][]api.Resource{}
	groups := map[string]schema.GroupVersion{}
	for _, r := range resources {
		gv := r.GroupVersion()
		byGV[gv] = append(byGV[gv], r)
		if pkg := reflectType(r.New()).PkgPath(); r.Group != "" && !isKubernetesPackage(pkg) {
			groups[pkg] = gv
		}
	}
	return byGV, groups
}

func isKubernetesPackage(pkg string) bool {
	return len(pkg) >= 7 && pkg[:7] == "k8s.io/"
}

func document(gv schema.GroupVersion, resources []api.Resource, groups map[string]schema.GroupVersion) (*spec3.OpenAPI, error) {
	schemas := newSchemaBuilder(groups, generatedMarkers())
	paths := newPathBuilder(gv, schemas)
	sort.Slice(resources, func(i, j int) bool { return resources[i].Resource < resources[j].Resource })
	paths.addDiscovery()
	for _, r := range resources {
		paths.addResource(r)
		tagKind(schemas, r.New(), r.GroupVersionKind())
		tagKind(schemas, r.NewList(), r.GroupVersion().WithKind(r.ListKind))
		if r.HasSubresource("scale") {
			tagKind(schemas, &autoscalingv1.Scale{}, autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
		}
	}
	// Status is served as the unversioned v1 kind in every group.
	tagKind(schemas, &metav1.Status{}, schema.GroupVersion{Version: "v1"}.WithKind("Status"))
	tagKind(schemas, &metav1.DeleteOptions{}, gv.WithKind("DeleteOptions"))
	if schemas.err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBuild, gv, schemas.err)
	}
	title := "Kubernetes"
	return &spec3.OpenAPI{
		Version: "3.0.0",
		Info:    &spec.Info{InfoProps: spec.InfoProps{Title: title, Version: Version}},
		Paths:   &spec3.Paths{Paths: paths.paths},
		Components: &spec3.Components{
			Schemas: schemas.defs,
			SecuritySchemes: spec3.SecuritySchemes{"BearerToken": &spec3.SecurityScheme{SecuritySchemeProps: spec3.SecuritySchemeProps{
				Type: "apiKey", Description: "Bearer Token authentication", Name: "authorization", In: "header"}}},
		},
		SecurityRequirement: []map[string][]string{{"BearerToken": {}}},
	}, nil
}

// tagKind marks the component of obj's type with the group-version-kind
// clients look it up by.
func tagKind(b *schemaBuilder, obj any, gvk schema.GroupVersionKind) {
	s := b.defs[b.component(reflectType(obj))]
	var list []any
	if existing, ok := s.Extensions[extGVK].([]any); ok {
		list = existing
	}
	entry := map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && m["group"] == gvk.Group && m["version"] == gvk.Version && m["kind"] == gvk.Kind {
			return
		}
	}
	s.AddExtension(extGVK, append(list, entry))
}

func reflectType(obj any) reflect.Type {
	return deref(reflect.TypeOf(obj))
}
