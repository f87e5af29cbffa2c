package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/navarch/navarch/api"
)

// served parses the documents of every served resource, as clients see
// them.
func served(t *testing.T) map[string]*spec3.OpenAPI {
	t.Helper()
	docs, err := Documents(api.Resources())
	if err != nil {
		t.Fatalf("Documents: %v", err)
	}
	out := map[string]*spec3.OpenAPI{}
	for path, data := range docs {
		var doc spec3.OpenAPI
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
		out[path] = &doc
	}
	return out
}

func component(t *testing.T, doc *spec3.OpenAPI, name string) *spec.Schema {
	t.Helper()
	s, ok := doc.Components.Schemas[name]
	if !ok {
		t.Fatalf("no component %s", name)
	}
	return s
}

func property(t *testing.T, doc *spec3.OpenAPI, comp, prop string) spec.Schema {
	t.Helper()
	s := component(t, doc, comp)
	p, ok := s.Properties[prop]
	if !ok {
		t.Fatalf("component %s has no property %s", comp, prop)
	}
	return p
}

func TestDocumentsAreKeyedByTheirServedPath(t *testing.T) {
	docs := served(t)
	var got []string
	for k := range docs {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{"api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1", "apis/discovery.k8s.io/v1", "apis/gitops.navarch.dev/v1alpha1"}
	if !slices.Equal(got, want) {
		t.Errorf("got documents %v, want %v", got, want)
	}
}

func TestComponentsAreNamedAsKubernetesNamesThem(t *testing.T) {
	docs := served(t)
	tests := []struct {
		doc, component string
		gvk            map[string]string // nil: no kind tag expected
	}{
		{"api/v1", "io.k8s.api.core.v1.Pod", map[string]string{"group": "", "version": "v1", "kind": "Pod"}},
		{"api/v1", "io.k8s.api.core.v1.PodList", map[string]string{"group": "", "version": "v1", "kind": "PodList"}},
		{"api/v1", "io.k8s.api.core.v1.PodSpec", nil},
		{"api/v1", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", nil},
		{"api/v1", "io.k8s.apimachinery.pkg.apis.meta.v1.Status", map[string]string{"group": "", "version": "v1", "kind": "Status"}},
		{"apis/apps/v1", "io.k8s.api.apps.v1.Deployment", map[string]string{"group": "apps", "version": "v1", "kind": "Deployment"}},
		{"apis/apps/v1", "io.k8s.api.autoscaling.v1.Scale", map[string]string{"group": "autoscaling", "version": "v1", "kind": "Scale"}},
		{"apis/coordination.k8s.io/v1", "io.k8s.api.coordination.v1.Lease", map[string]string{"group": "coordination.k8s.io", "version": "v1", "kind": "Lease"}},
		{"apis/discovery.k8s.io/v1", "io.k8s.api.discovery.v1.EndpointSlice", map[string]string{"group": "discovery.k8s.io", "version": "v1", "kind": "EndpointSlice"}},
		{"apis/gitops.navarch.dev/v1alpha1", "dev.navarch.gitops.v1alpha1.Source", map[string]string{"group": "gitops.navarch.dev", "version": "v1alpha1", "kind": "Source"}},
		{"apis/gitops.navarch.dev/v1alpha1", "dev.navarch.gitops.v1alpha1.GitSource", nil},
	}
	for _, tt := range tests {
		t.Run(tt.component, func(t *testing.T) {
			s := component(t, docs[tt.doc], tt.component)
			var tags []map[string]string
			err := s.Extensions.GetObject(extGVK, &tags)
			switch {
			case tt.gvk == nil && (err == nil && len(tags) > 0):
				t.Errorf("got kind tags %v, want none", tags)
			case tt.gvk != nil && (err != nil || len(tags) != 1 || fmt.Sprint(tags[0]) != fmt.Sprint(tt.gvk)):
				t.Errorf("got kind tags %v (%v), want [%v]", tags, err, tt.gvk)
			}
		})
	}
}

func TestMergeKeysAndListTypesComeFromTheGoTypes(t *testing.T) {
	core := served(t)["api/v1"]
	tests := []struct {
		component, property string
		strategy, mergeKey  string
		listType            string
		mapKeys             []string
	}{
		{"io.k8s.api.core.v1.PodSpec", "containers", "merge", "name", "map", []string{"name"}},
		{"io.k8s.api.core.v1.PodSpec", "initContainers", "merge", "name", "map", []string{"name"}},
		{"io.k8s.api.core.v1.PodSpec", "volumes", "merge,retainKeys", "name", "map", []string{"name"}},
		{"io.k8s.api.core.v1.PodSpec", "tolerations", "", "", "atomic", nil},
		{"io.k8s.api.core.v1.Container", "ports", "merge", "containerPort", "map", []string{"containerPort", "protocol"}},
		{"io.k8s.api.core.v1.Container", "env", "merge", "name", "map", []string{"name"}},
		{"io.k8s.api.core.v1.Container", "volumeMounts", "merge", "mountPath", "map", []string{"mountPath"}},
		{"io.k8s.api.core.v1.ServiceSpec", "ports", "merge", "port", "map", []string{"port", "protocol"}},
		{"io.k8s.api.core.v1.PodStatus", "conditions", "merge", "type", "map", []string{"type"}},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", "merge", "", "set", nil},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", "merge", "uid", "map", []string{"uid"}},
	}
	for _, tt := range tests {
		t.Run(tt.component+"."+tt.property, func(t *testing.T) {
			p := property(t, core, tt.component, tt.property)
			str := func(key string) string { s, _ := p.Extensions.GetString(key); return s }
			if got := str(extPatchStrategy); got != tt.strategy {
				t.Errorf("got patch strategy %q, want %q", got, tt.strategy)
			}
			if got := str(extPatchMergeKey); got != tt.mergeKey {
				t.Errorf("got merge key %q, want %q", got, tt.mergeKey)
			}
			if got := str(extListType); got != tt.listType {
				t.Errorf("got list type %q, want %q", got, tt.listType)
			}
			var keys []string
			_ = p.Extensions.GetObject(extListMapKeys, &keys)
			if !slices.Equal(keys, tt.mapKeys) {
				t.Errorf("got list map keys %v, want %v", keys, tt.mapKeys)
			}
		})
	}
}

func TestSpecialTypesHaveTheirWireSchemas(t *testing.T) {
	docs := served(t)
	core := docs["api/v1"]
	tests := []struct {
		name   string
		schema *spec.Schema
		want   string // the schema's JSON, descriptions left out
	}{
		{"Quantity", component(t, core, "io.k8s.apimachinery.pkg.api.resource.Quantity"), `{"oneOf":[{"type":"string"},{"type":"number"}]}`},
		{"IntOrString", component(t, core, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"), `{"format":"int-or-string","oneOf":[{"type":"integer"},{"type":"string"}]}`},
		{"Time", component(t, core, "io.k8s.apimachinery.pkg.apis.meta.v1.Time"), `{"format":"date-time","type":"string"}`},
		{"MicroTime", component(t, core, "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"), `{"format":"date-time","type":"string"}`},
		{"RawExtension", rawExtension(t), `{"type":"object"}`},
		{"FieldsV1", component(t, core, "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"), `{"type":"object"}`},
		{"Duration", component(t, docs["apis/gitops.navarch.dev/v1alpha1"], "io.k8s.apimachinery.pkg.apis.meta.v1.Duration"), `{"type":"string"}`},
		{"[]byte values of a Secret", ptr(property(t, core, "io.k8s.api.core.v1.Secret", "data")), `{"additionalProperties":{"format":"byte","type":"string"},"type":"object"}`},
		{"a ResourceList of Quantities", ptr(property(t, core, "io.k8s.api.core.v1.ResourceRequirements", "limits")), `{"additionalProperties":{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"},"type":"object"}`},
		{"an int32", ptr(property(t, core, "io.k8s.api.core.v1.ContainerPort", "containerPort")), `{"format":"int32","type":"integer"}`},
		{"an int64", ptr(property(t, core, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "generation")), `{"format":"int64","type":"integer"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := *tt.schema
			s.Description = ""
			data, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var a, b any
			json.Unmarshal(data, &a)
			json.Unmarshal([]byte(tt.want), &b)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("got %s, want %s", data, tt.want)
			}
		})
	}
}

func TestStructFieldsReferenceComponentsThroughAllOf(t *testing.T) {
	p := property(t, served(t)["api/v1"], "io.k8s.api.core.v1.Pod", "metadata")
	if len(p.AllOf) != 1 || p.AllOf[0].Ref.String() != refPrefix+"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" || p.Description == "" {
		t.Errorf("got metadata schema %+v, want a described allOf of the ObjectMeta reference", p)
	}
}

func TestRequiredFieldsFollowKubernetesMarkers(t *testing.T) {
	core := served(t)["api/v1"]
	tests := []struct {
		component string
		want      []string
	}{
		{"io.k8s.api.core.v1.Container", []string{"name"}},
		{"io.k8s.api.core.v1.PodSpec", []string{"containers"}},
		{"io.k8s.api.core.v1.ContainerPort", []string{"containerPort"}},
		{"io.k8s.api.core.v1.PodList", []string{"items"}},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", nil},
	}
	for _, tt := range tests {
		if got := component(t, core, tt.component).Required; !slices.Equal(got, tt.want) {
			t.Errorf("%s: got required %v, want %v", tt.component, got, tt.want)
		}
	}
}

// TestSchemasBuildAServerSideApplyTypeConverter checks the component
// schemas are complete enough for structured-merge-diff, which server-side
// apply would use.
func TestSchemasBuildAServerSideApplyTypeConverter(t *testing.T) {
	schemas, err := Schemas(api.Resources())
	if err != nil {
		t.Fatalf("Schemas: %v", err)
	}
	tc, err := managedfields.NewTypeConverter(schemas, false)
	if err != nil {
		t.Fatalf("NewTypeConverter: %v", err)
	}
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1",
			Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}}}},
	}
	typed, err := tc.ObjectToTyped(p)
	if err != nil {
		t.Fatalf("ObjectToTyped: %v", err)
	}
	set, err := typed.ToFieldSet()
	if err != nil {
		t.Fatalf("ToFieldSet: %v", err)
	}
	// Containers are a map keyed by name: the field set names the key.
	if got := set.String(); !strings.Contains(got, `.spec.containers[name="web"].image`) || !strings.Contains(got, `.ports[containerPort=80,protocol="TCP"]`) {
		t.Errorf("got field set\n%s\nwant containers keyed by name and ports by containerPort and protocol", got)
	}
}

// TestEveryCustomJSONTypeHasASchemaOfItsOwn guards against a reachable Go
// type whose JSON form differs from its fields (a json.Marshaler) being
// described by reflection over those fields.
func TestEveryCustomJSONTypeHasASchemaOfItsOwn(t *testing.T) {
	marshaler := reflect.TypeFor[json.Marshaler]()
	for ty := range reachedTypes(t) {
		if !ty.Implements(marshaler) && !reflect.PointerTo(ty).Implements(marshaler) {
			continue
		}
		if !hasSchemaMethods(ty) {
			t.Errorf("%v marshals itself to JSON but has no schema of its own; add it to objectTypes or give it schema methods", ty)
		}
	}
}

// rawExtension builds the component of runtime.RawExtension, which no
// served kind reaches.
func rawExtension(t *testing.T) *spec.Schema {
	b := newSchemaBuilder(nil, generatedMarkers())
	name := b.component(reflect.TypeFor[runtime.RawExtension]())
	if name != "io.k8s.apimachinery.pkg.runtime.RawExtension" {
		t.Errorf("got component name %s", name)
	}
	return b.defs[name]
}
