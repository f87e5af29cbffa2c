package apiserver

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// RequestInfo is what the URL and method of a request say about it: for
// resource requests the verb, group-version, namespace, resource, name and
// subresource, as Kubernetes' request-info parser reads them.
type RequestInfo struct {
	// IsResourceRequest is false for discovery, /version, /openapi and the
	// other non-resource paths.
	IsResourceRequest bool
	// Path is the request's URL path.
	Path string
	// Verb is get, list, watch, create, update, patch, delete or
	// deletecollection for resource requests, and the lower-case HTTP method
	// for other requests.
	Verb string
	// APIPrefix is "api" or "apis".
	APIPrefix  string
	APIGroup   string
	APIVersion string
	// Namespace is the namespace of the URL; for the namespaces resource it
	// is the namespace named (Kubernetes does the same for authorization).
	Namespace   string
	Resource    string
	Subresource string
	Name        string
}

// GroupVersionResource returns the request's group, version and resource.
func (ri *RequestInfo) GroupVersionResource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: ri.APIGroup, Version: ri.APIVersion, Resource: ri.Resource}
}

// parseRequestInfo reads a request's URL and method. Paths it does not
// recognise as resource paths give a non-resource RequestInfo.
func parseRequestInfo(r *http.Request) *RequestInfo {
	info := &RequestInfo{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	parts := splitPath(r.URL.Path)
	if len(parts) < 2 {
		return info
	}
	switch parts[0] {
	case "api":
		info.APIPrefix, info.APIVersion, parts = "api", parts[1], parts[2:]
	case "apis":
		if len(parts) < 3 {
			return info
		}
		info.APIPrefix, info.APIGroup, info.APIVersion, parts = "apis", parts[1], parts[2], parts[3:]
	default:
		return info
	}
	if len(parts) == 0 {
		// /api/v1 or /apis/<group>/<version>: discovery.
		return info
	}
	info.IsResourceRequest = true

	watchPrefix := false
	if parts[0] == "watch" {
		watchPrefix, parts = true, parts[1:]
		if len(parts) == 0 {
			info.IsResourceRequest = false
			return info
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		info.Verb = "get"
	case http.MethodPost:
		info.Verb = "create"
	case http.MethodPut:
		info.Verb = "update"
	case http.MethodPatch:
		info.Verb = "patch"
	case http.MethodDelete:
		info.Verb = "delete"
	}

	// /namespaces/<ns>/<resource>... addresses a resource in a namespace;
	// /namespaces/<ns>[/status|/finalize] addresses the namespace itself.
	if parts[0] == "namespaces" && len(parts) > 1 {
		info.Namespace = parts[1]
		if len(parts) > 2 && parts[2] != "status" && parts[2] != "finalize" {
			parts = parts[2:]
		}
	}
	info.Resource = parts[0]
	if len(parts) > 1 {
		info.Name = parts[1]
	}
	if len(parts) > 2 {
		info.Subresource = parts[2]
	}
	if len(parts) > 3 {
		// Deeper paths (proxy sub-paths) are not served.
		info.Subresource = strings.Join(parts[2:], "/")
	}

	if watchPrefix || (info.Verb == "get" && isTrue(r.URL.Query().Get("watch"))) {
		if info.Verb == "get" {
			info.Verb = "watch"
		}
	} else if info.Name == "" && info.Verb == "get" {
		info.Verb = "list"
	} else if info.Name == "" && info.Verb == "delete" {
		info.Verb = "deletecollection"
	}
	return info
}

func splitPath(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	return strings.Split(path, "/")
}

func isTrue(s string) bool {
	return s == "true" || s == "1"
}
