package openapi

import (
	"net/http"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/navarch/navarch/api"
)

// Patch content types the server accepts on every PATCH operation.
var patchTypes = []string{
	"application/json-patch+json",
	"application/merge-patch+json",
	"application/strategic-merge-patch+json",
	"application/apply-patch+yaml",
}

// Query parameters, after kube-apiserver's. They are written inline in each
// operation: kubectl looks for fieldValidation among the PATCH operation's
// own parameters.
var (
	paramPretty          = query("pretty", "string", "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).")
	paramDryRun          = query("dryRun", "string", "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed")
	paramFieldManager    = query("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.")
	paramFieldValidation = query("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.")
	paramForce           = query("force", "boolean", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.")
	paramAllowBookmarks  = query("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion.")
	paramContinue        = query("continue", "string", "The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue).")
	paramFieldSelector   = query("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields. Defaults to everything.")
	paramLabelSelector   = query("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to everything.")
	paramLimit           = query("limit", "integer", "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.")
	paramResourceVersion = query("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from. Defaults to unset.")
	paramRVMatch         = query("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list calls. Defaults to unset.")
	paramTimeout         = query("timeoutSeconds", "integer", "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.")
	paramWatch           = query("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.")
	paramGracePeriod     = query("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used.")
	paramOrphan          = query("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned.")
	paramPropagation     = query("propagationPolicy", "string", "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.")

	listParams             = []*spec3.Parameter{paramAllowBookmarks, paramContinue, paramFieldSelector, paramLabelSelector, paramLimit, paramResourceVersion, paramRVMatch, paramTimeout, paramWatch}
	writeParams            = []*spec3.Parameter{paramDryRun, paramFieldManager, paramFieldValidation}
	patchParams            = []*spec3.Parameter{paramDryRun, paramFieldManager, paramFieldValidation, paramForce}
	deleteParams           = []*spec3.Parameter{paramDryRun, paramGracePeriod, paramOrphan, paramPropagation}
	deleteCollectionParams = []*spec3.Parameter{paramContinue, paramDryRun, paramFieldSelector, paramGracePeriod, paramLabelSelector, paramLimit,
		paramOrphan, paramPropagation, paramResourceVersion, paramRVMatch, paramTimeout}
	logParams = []*spec3.Parameter{
		query("container", "string", "The container for which to stream logs. Defaults to only container if there is one container in the pod."),
		query("follow", "boolean", "Follow the log stream of the pod. Defaults to false."),
		query("limitBytes", "integer", "If set, the number of bytes to read from the server before terminating the log output."),
		query("previous", "boolean", "Return previous terminated container logs. Defaults to false."),
		query("sinceSeconds", "integer", "A relative time in seconds before the current time from which to show logs."),
		query("tailLines", "integer", "If set, the number of lines from the end of the logs to show."),
		query("timestamps", "boolean", "If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output. Defaults to false."),
	}
)

func query(name, typ, desc string) *spec3.Parameter {
	return &spec3.Parameter{ParameterProps: spec3.ParameterProps{
		Name: name, In: "query", Description: desc,
		Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{typ}, UniqueItems: true}},
	}}
}

func pathParam(name, desc string) *spec3.Parameter {
	return &spec3.Parameter{ParameterProps: spec3.ParameterProps{
		Name: name, In: "path", Description: desc, Required: true,
		Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"string"}, UniqueItems: true}},
	}}
}

// pathBuilder adds the paths of one group-version's resources.
type pathBuilder struct {
	gv      schema.GroupVersion
	prefix  string // "/api/v1" or "/apis/<group>/<version>"
	opName  string // "CoreV1", "AppsV1" …
	tag     string // "core_v1", "apps_v1" …
	schemas *schemaBuilder
	paths   map[string]*spec3.Path
}

func newPathBuilder(gv schema.GroupVersion, schemas *schemaBuilder) *pathBuilder {
	p := &pathBuilder{gv: gv, schemas: schemas, paths: map[string]*spec3.Path{}}
	group := gv.Group
	if group == "" {
		group = "core"
		p.prefix = "/api/" + gv.Version
	} else {
		p.prefix = "/apis/" + gv.Group + "/" + gv.Version
	}
	group = strings.TrimSuffix(group, ".k8s.io")
	var camel strings.Builder
	for _, part := range strings.FieldsFunc(group, func(r rune) bool { return r == '.' || r == '-' }) {
		camel.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	p.opName = camel.String() + strings.ToUpper(gv.Version[:1]) + gv.Version[1:]
	p.tag = strings.ReplaceAll(group, ".", "") + "_" + gv.Version
	return p
}

// op describes one operation.
type op struct {
	method, action, id string
	gvk                schema.GroupVersionKind
	params             []*spec3.Parameter
	body               *spec.Schema
	bodyTypes          []string
	responses          map[int]*spec.Schema
	responseTypes      []string
}

// addResource adds the collection, item and subresource paths of r.
func (p *pathBuilder) addResource(r api.Resource) {
	gvk := r.GroupVersionKind()
	kind, list := p.ref(r.New()), p.ref(r.NewList())
	status, patch, deleteOpts := p.ref(&metav1.Status{}), p.ref(&metav1.Patch{}), p.ref(&metav1.DeleteOptions{})
	scope, nsParams := "", []*spec3.Parameter{}
	collection := p.prefix + "/" + r.Resource
	if r.Namespaced {
		scope = "Namespaced"
		nsParams = append(nsParams, pathParam("namespace", "object name and auth scope, such as for teams and projects"))
		collection = p.prefix + "/namespaces/{namespace}/" + r.Resource
	}
	item := collection + "/{name}"
	named := append(append([]*spec3.Parameter{pathParam("name", "name of the "+r.Kind)}, nsParams...), paramPretty)
	id := func(verb, suffix string) string { return verb + p.opName + scope + r.Kind + suffix }

	p.add(collection, append(nsParams, paramPretty),
		op{method: http.MethodGet, action: "list", id: id("list", ""), gvk: gvk, params: listParams,
			responses: map[int]*spec.Schema{200: list}, responseTypes: []string{"application/json", "application/json;stream=watch"}},
		op{method: http.MethodPost, action: "post", id: id("create", ""), gvk: gvk, params: writeParams, body: kind,
			responses: map[int]*spec.Schema{200: kind, 201: kind, 202: kind}},
		op{method: http.MethodDelete, action: "deletecollection", id: "delete" + p.opName + "Collection" + scope + r.Kind, gvk: gvk,
			params: deleteCollectionParams, body: deleteOpts, responses: map[int]*spec.Schema{200: status}},
	)
	p.add(item, named,
		op{method: http.MethodGet, action: "get", id: id("read", ""), gvk: gvk, responses: map[int]*spec.Schema{200: kind}},
		op{method: http.MethodPut, action: "put", id: id("replace", ""), gvk: gvk, params: writeParams, body: kind,
			responses: map[int]*spec.Schema{200: kind, 201: kind}},
		op{method: http.MethodPatch, action: "patch", id: id("patch", ""), gvk: gvk, params: patchParams, body: patch, bodyTypes: patchTypes,
			responses: map[int]*spec.Schema{200: kind, 201: kind}},
		op{method: http.MethodDelete, action: "delete", id: id("delete", ""), gvk: gvk, params: deleteParams, body: deleteOpts,
			responses: map[int]*spec.Schema{200: status, 202: status}},
	)
	if r.Namespaced {
		p.add(p.prefix+"/"+r.Resource, []*spec3.Parameter{paramPretty},
			op{method: http.MethodGet, action: "list", id: "list" + p.opName + r.Kind + "ForAllNamespaces", gvk: gvk, params: listParams,
				responses: map[int]*spec.Schema{200: list}, responseTypes: []string{"application/json", "application/json;stream=watch"}})
	}
	for _, sub := range r.Subresources {
		p.addSubresource(r, sub, item+"/"+sub, named, id)
	}
}

func (p *pathBuilder) addSubresource(r api.Resource, sub, path string, named []*spec3.Parameter, id func(verb, suffix string) string) {
	gvk := r.GroupVersionKind()
	kind, patch := p.ref(r.New()), p.ref(&metav1.Patch{})
	switch sub {
	case "status":
		p.add(path, named, p.readReplacePatch(gvk, kind, patch, id, "Status")...)
	case "scale":
		scale := p.ref(&autoscalingv1.Scale{})
		p.add(path, named, p.readReplacePatch(autoscalingv1.SchemeGroupVersion.WithKind("Scale"), scale, patch, id, "Scale")...)
	case "binding":
		binding := p.ref(&corev1.Binding{})
		p.add(path, named, op{method: http.MethodPost, action: "post", id: id("create", "Binding"), gvk: corev1.SchemeGroupVersion.WithKind("Binding"),
			params: writeParams, body: binding, responses: map[int]*spec.Schema{200: binding, 201: binding, 202: binding}})
	case "log":
		str := &spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"string"}}}
		p.add(path, named, op{method: http.MethodGet, action: "get", id: id("read", "Log"), gvk: gvk, params: logParams,
			responses: map[int]*spec.Schema{200: str}, responseTypes: []string{"text/plain"}})
	case "finalize":
		p.add(path, named, op{method: http.MethodPut, action: "put", id: id("replace", "Finalize"), gvk: gvk, params: writeParams, body: kind,
			responses: map[int]*spec.Schema{200: kind, 201: kind}})
	default:
		p.schemas.fail(errUnknownSubresource(r, sub))
	}
}

func (p *pathBuilder) readReplacePatch(gvk schema.GroupVersionKind, obj, patch *spec.Schema, id func(verb, suffix string) string, suffix string) []op {
	return []op{
		{method: http.MethodGet, action: "get", id: id("read", suffix), gvk: gvk, responses: map[int]*spec.Schema{200: obj}},
		{method: http.MethodPut, action: "put", id: id("replace", suffix), gvk: gvk, params: writeParams, body: obj,
			responses: map[int]*spec.Schema{200: obj, 201: obj}},
		{method: http.MethodPatch, action: "patch", id: id("patch", suffix), gvk: gvk, params: patchParams, body: patch, bodyTypes: patchTypes,
			responses: map[int]*spec.Schema{200: obj, 201: obj}},
	}
}

// addDiscovery adds the group-version's resource list path.
func (p *pathBuilder) addDiscovery() {
	res := p.ref(&metav1.APIResourceList{})
	p.add(p.prefix+"/", nil, op{method: http.MethodGet, id: "get" + p.opName + "APIResources", responses: map[int]*spec.Schema{200: res}})
}

// ref returns a reference to the component of obj's type.
func (p *pathBuilder) ref(obj any) *spec.Schema {
	return spec.RefSchema(refPrefix + p.schemas.component(reflectType(obj)))
}

func (p *pathBuilder) add(path string, params []*spec3.Parameter, ops ...op) {
	item, ok := p.paths[path]
	if !ok {
		item = &spec3.Path{PathProps: spec3.PathProps{Parameters: params}}
		p.paths[path] = item
	}
	for _, o := range ops {
		operation := p.operation(o)
		switch o.method {
		case http.MethodGet:
			item.Get = operation
		case http.MethodPost:
			item.Post = operation
		case http.MethodPut:
			item.Put = operation
		case http.MethodPatch:
			item.Patch = operation
		case http.MethodDelete:
			item.Delete = operation
		}
	}
}

func (p *pathBuilder) operation(o op) *spec3.Operation {
	operation := &spec3.Operation{OperationProps: spec3.OperationProps{
		OperationId: o.id,
		Tags:        []string{p.tag},
		Parameters:  o.params,
		Responses:   &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{}}},
	}}
	if o.action != "" {
		operation.AddExtension(extAction, o.action)
	}
	if !o.gvk.Empty() {
		operation.AddExtension(extGVK, map[string]any{"group": o.gvk.Group, "version": o.gvk.Version, "kind": o.gvk.Kind})
	}
	if o.body != nil {
		types := o.bodyTypes
		if types == nil {
			types = []string{"application/json"}
		}
		operation.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Required: true, Content: content(types, o.body)}}
	}
	types := o.responseTypes
	if types == nil {
		types = []string{"application/json"}
	}
	for code, s := range o.responses {
		operation.Responses.StatusCodeResponses[code] = &spec3.Response{ResponseProps: spec3.ResponseProps{
			Description: http.StatusText(code), Content: content(types, s)}}
	}
	operation.Responses.StatusCodeResponses[http.StatusUnauthorized] = &spec3.Response{ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}}
	return operation
}

func content(types []string, s *spec.Schema) map[string]*spec3.MediaType {
	m := make(map[string]*spec3.MediaType, len(types))
	for _, t := range types {
		m[t] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: s}}
	}
	return m
}
