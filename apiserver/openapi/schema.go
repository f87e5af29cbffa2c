package openapi

import (
	"fmt"
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Extension keys Kubernetes clients read.
const (
	extGVK             = "x-kubernetes-group-version-kind"
	extPatchStrategy   = "x-kubernetes-patch-strategy"
	extPatchMergeKey   = "x-kubernetes-patch-merge-key"
	extListType        = "x-kubernetes-list-type"
	extListMapKeys     = "x-kubernetes-list-map-keys"
	extMapType         = "x-kubernetes-map-type"
	extPreserveUnknown = "x-kubernetes-preserve-unknown-fields"
	extAction          = "x-kubernetes-action"
)

const refPrefix = "#/components/schemas/"

// Types whose JSON form is an arbitrary object, which reflection over
// their Go fields would get wrong.
var objectTypes = map[reflect.Type]bool{
	reflect.TypeFor[runtime.RawExtension](): true,
	reflect.TypeFor[metav1.FieldsV1]():      true,
}

// schemaBuilder turns Go types into OpenAPI schemas, collecting every named
// struct (and special type) it meets as a component.
type schemaBuilder struct {
	// groups maps the Go package of a served kind outside k8s.io to its
	// group-version, which names that package's components.
	groups  map[string]schema.GroupVersion
	markers map[string]typeMarkers

	defs  map[string]*spec.Schema
	names map[reflect.Type]string
	// owner records which Go type took each component name.
	owner map[string]reflect.Type
	// seen holds every named type met, for the markers generator.
	seen map[reflect.Type]bool
	err  error
}

func newSchemaBuilder(groups map[string]schema.GroupVersion, markers map[string]typeMarkers) *schemaBuilder {
	return &schemaBuilder{
		groups:  groups,
		markers: markers,
		defs:    map[string]*spec.Schema{},
		names:   map[reflect.Type]string{},
		owner:   map[string]reflect.Type{},
		seen:    map[reflect.Type]bool{},
	}
}

// component adds the component of named type t (struct or special) and
// returns its name.
func (b *schemaBuilder) component(t reflect.Type) string {
	t = deref(t)
	if name, ok := b.names[t]; ok {
		return name
	}
	name := b.nameOf(t)
	if other, taken := b.owner[name]; taken && other != t {
		b.fail(fmt.Errorf("component name %s is taken by both %v and %v", name, other, t))
	}
	b.names[t], b.owner[name] = name, t
	s := &spec.Schema{}
	b.defs[name] = s // before recursing, so that recursive types end
	*s = b.componentSchema(t)
	return name
}

// nameOf returns Kubernetes' component name of t: the name its
// OpenAPIModelName method gives ("io.k8s.api.core.v1.Pod"), the reversed
// group and version of a served group's package
// ("dev.navarch.gitops.v1alpha1.Source"), or the reversed-domain package
// path otherwise.
func (b *schemaBuilder) nameOf(t reflect.Type) string {
	if n, ok := reflect.Zero(t).Interface().(interface{ OpenAPIModelName() string }); ok {
		return n.OpenAPIModelName()
	}
	if gv, ok := b.groups[t.PkgPath()]; ok {
		return reverseDomain(gv.Group) + "." + gv.Version + "." + t.Name()
	}
	return packageName(t.PkgPath()) + "." + t.Name()
}

// reverseDomain turns "gitops.navarch.dev" into "dev.navarch.gitops".
func reverseDomain(d string) string {
	parts := strings.Split(d, ".")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ".")
}

// packageName turns a Go package path into a component prefix as
// Kubernetes does: "k8s.io/api/core/v1" becomes "io.k8s.api.core.v1".
func packageName(pkg string) string {
	host, rest, _ := strings.Cut(pkg, "/")
	name := reverseDomain(host)
	if rest != "" {
		name += "." + strings.ReplaceAll(rest, "/", ".")
	}
	return name
}

func (b *schemaBuilder) componentSchema(t reflect.Type) spec.Schema {
	v := reflect.Zero(t).Interface()
	format := ""
	if f, ok := v.(interface{ OpenAPISchemaFormat() string }); ok {
		format = f.OpenAPISchemaFormat()
	}
	if o, ok := v.(interface{ OpenAPIV3OneOfTypes() []string }); ok {
		s := spec.Schema{SchemaProps: spec.SchemaProps{Format: format, Description: b.typeDoc(t)}}
		for _, typ := range o.OpenAPIV3OneOfTypes() {
			s.OneOf = append(s.OneOf, spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{typ}}})
		}
		return s
	}
	if o, ok := v.(interface{ OpenAPISchemaType() []string }); ok {
		return spec.Schema{SchemaProps: spec.SchemaProps{Type: o.OpenAPISchemaType(), Format: format, Description: b.typeDoc(t)}}
	}
	if objectTypes[t] {
		return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}, Description: b.typeDoc(t)}}
	}
	return b.structSchema(t)
}

func (b *schemaBuilder) structSchema(t reflect.Type) spec.Schema {
	s := spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}, Description: b.typeDoc(t), Properties: map[string]spec.Schema{}}}
	var required []string
	b.addFields(t, &s, &required)
	if m, ok := b.markers[typeKey(t)]; ok && m.Struct {
		required = m.Required
	}
	s.Required = required
	if len(s.Properties) == 0 {
		s.Properties = nil
	}
	if m := b.markers[typeKey(t)]; m.StructType == "atomic" {
		s.AddExtension(extMapType, "atomic")
	}
	return s
}

// addFields adds the JSON fields of struct t to s, flattening embedded
// structs without a JSON name (TypeMeta), and collects the fields required
// by the omitempty rule.
func (b *schemaBuilder) addFields(t reflect.Type, s *spec.Schema, required *[]string) {
	docs := swaggerDoc(t)
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && name == "" && deref(f.Type).Kind() == reflect.Struct {
			b.addFields(deref(f.Type), s, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		desc := docs[name]
		fm := b.markers[typeKey(t)].Fields[name]
		if desc == "" {
			desc = fm.Description
		}
		prop := b.propertySchema(f.Type, desc)
		if v := f.Tag.Get("patchStrategy"); v != "" {
			prop.AddExtension(extPatchStrategy, v)
		}
		if v := f.Tag.Get("patchMergeKey"); v != "" {
			prop.AddExtension(extPatchMergeKey, v)
		}
		b.addCollectionMarkers(&prop, f.Type, fm)
		s.Properties[name] = prop
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}

// addCollectionMarkers puts the list and map markers of a field (or, when
// it has none, of its named type) on its schema.
func (b *schemaBuilder) addCollectionMarkers(prop *spec.Schema, ft reflect.Type, fm fieldMarkers) {
	tm := b.markers[typeKey(deref(ft))]
	listType, keys, mapType := fm.ListType, fm.ListMapKeys, fm.MapType
	if listType == "" {
		listType, keys = tm.ListType, tm.ListMapKeys
	}
	if mapType == "" {
		mapType = tm.MapType
	}
	if mapType == "" && fm.StructType != "" {
		mapType = fm.StructType
	}
	if listType != "" {
		prop.AddExtension(extListType, listType)
	}
	if len(keys) > 0 {
		prop.AddExtension(extListMapKeys, keys)
	}
	if mapType != "" {
		prop.AddExtension(extMapType, mapType)
	}
}

// propertySchema is the schema of a field of type t: inline for scalars,
// arrays and maps; a reference to a component for structs, wrapped in
// allOf when it carries a description, as Kubernetes' OpenAPI v3 does.
func (b *schemaBuilder) propertySchema(t reflect.Type, desc string) spec.Schema {
	s := b.schemaOf(t)
	if s.Ref.String() != "" && desc != "" {
		return spec.Schema{SchemaProps: spec.SchemaProps{AllOf: []spec.Schema{s}, Description: desc}}
	}
	s.Description = desc
	return s
}

// schemaOf is the schema of a value of type t.
func (b *schemaBuilder) schemaOf(t reflect.Type) spec.Schema {
	t = deref(t)
	if t.PkgPath() != "" {
		b.seen[t] = true
	}
	if t.Kind() == reflect.Struct || hasSchemaMethods(t) {
		return *spec.RefSchema(refPrefix + b.component(t))
	}
	switch t.Kind() {
	case reflect.Bool:
		return typed("boolean", "")
	case reflect.Int8, reflect.Uint8:
		return typed("integer", "byte")
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint16:
		return typed("integer", "int32")
	case reflect.Int64, reflect.Uint32, reflect.Uint64:
		return typed("integer", "int64")
	case reflect.Float32:
		return typed("number", "float")
	case reflect.Float64:
		return typed("number", "double")
	case reflect.String:
		return typed("string", "")
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return typed("string", "byte")
		}
		items := b.schemaOf(t.Elem())
		return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"array"}, Items: &spec.SchemaOrArray{Schema: &items}}}
	case reflect.Map:
		values := b.schemaOf(t.Elem())
		return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}, AdditionalProperties: &spec.SchemaOrBool{Allows: true, Schema: &values}}}
	case reflect.Interface:
		s := spec.Schema{}
		s.AddExtension(extPreserveUnknown, true)
		return s
	}
	b.fail(fmt.Errorf("no OpenAPI schema for Go type %v", t))
	return spec.Schema{}
}

func typed(typ, format string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{typ}, Format: format}}
}

// hasSchemaMethods reports whether t describes its own schema (Quantity,
// IntOrString, Time …) or is one of the arbitrary-object types; such types
// become components even when they are not structs.
func hasSchemaMethods(t reflect.Type) bool {
	if objectTypes[t] {
		return true
	}
	v := reflect.Zero(t).Interface()
	_, a := v.(interface{ OpenAPISchemaType() []string })
	_, b := v.(interface{ OpenAPIV3OneOfTypes() []string })
	return a || b
}

func (b *schemaBuilder) typeDoc(t reflect.Type) string {
	if d := swaggerDoc(t)[""]; d != "" {
		return d
	}
	return b.markers[typeKey(t)].Description
}

// swaggerDoc returns the generated field descriptions of t ("" holds the
// type's own), or nil.
func swaggerDoc(t reflect.Type) map[string]string {
	if d, ok := reflect.Zero(t).Interface().(interface{ SwaggerDoc() map[string]string }); ok {
		return d.SwaggerDoc()
	}
	return nil
}

func (b *schemaBuilder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func typeKey(t reflect.Type) string {
	return t.PkgPath() + "." + t.Name()
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
