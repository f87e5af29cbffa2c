package auth

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// NodeLeaseNamespace holds the nodes' heartbeat Leases.
const NodeLeaseNamespace = "kube-node-lease"

// Attributes describe a request for Authorize.
type Attributes struct {
	// Verb is the API verb: get, list, watch, create, update, patch, delete
	// or deletecollection; for a non-resource request, the lower-case HTTP
	// method.
	Verb string
	// APIGroup is "" for the core group.
	APIGroup    string
	Resource    string
	Subresource string
	Namespace   string
	// Name is the object's name: from the URL, and for create the
	// metadata.name of the object in the body (the URL of a create names
	// none, and the rules on a node's own Node and Lease need it).
	Name string
	// Path is the URL path of a non-resource request (Resource is empty):
	// /api, /apis/..., /version, /healthz, /openapi/v3, /metrics ...
	Path string
}

func (a Attributes) isRead() bool {
	return a.Verb == "get" || a.Verb == "list" || a.Verb == "watch"
}

// Authorize reports whether user may make the request described by attrs,
// with a short reason for logs. The rules are listed in the package
// documentation. For a node's pods/status writes and pod deletes it allows
// the request line only; the caller must then check the stored pod with
// CheckPodBinding.
func Authorize(user User, attrs Attributes) (bool, string) {
	if user.InGroup(MastersGroup) {
		return true, "allowed: member of " + MastersGroup
	}
	if attrs.Resource == "" {
		if (attrs.Verb == "get" || attrs.Verb == "head") && publicPath(attrs.Path) {
			return true, "allowed: discovery and health paths are open to authenticated users"
		}
		return false, "only " + MastersGroup + " may use this path"
	}
	if node, ok := NodeName(user); ok {
		return authorizeNode(node, attrs)
	}
	if user.InGroup(ViewGroup) {
		switch {
		case !attrs.isRead():
			return false, ViewGroup + " may only get, list and watch"
		case attrs.APIGroup == "" && attrs.Resource == "pods" && (attrs.Subresource == "exec" || attrs.Subresource == "attach" || attrs.Subresource == "portforward"):
			return false, ViewGroup + " may not exec, attach or port-forward"
		case attrs.APIGroup == "" && attrs.Resource == "secrets":
			return false, ViewGroup + " may not read secrets"
		}
		return true, "allowed: read by " + ViewGroup
	}
	return false, "no rule allows this user"
}

// publicPath reports whether a non-resource path is one any authenticated
// user may read: discovery, OpenAPI, version and health checks.
func publicPath(p string) bool {
	for _, prefix := range []string{"/api", "/apis", "/openapi", "/version", "/healthz", "/livez", "/readyz"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// nodeReadable is what a node may get, list and watch: what its kubelet
// and proxy read.
var nodeReadable = map[schema.GroupResource]bool{
	{Resource: "pods"}:       true,
	{Resource: "services"}:   true,
	{Resource: "endpoints"}:  true,
	{Resource: "configmaps"}: true,
	{Resource: "secrets"}:    true,
	{Resource: "nodes"}:      true,
	{Resource: "namespaces"}: true,
	{Group: "discovery.k8s.io", Resource: "endpointslices"}: true,
}

func authorizeNode(node string, a Attributes) (bool, string) {
	gr := schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}
	write := a.Verb == "create" || a.Verb == "update" || a.Verb == "patch"
	switch {
	case a.isRead() && a.Subresource == "" && nodeReadable[gr]:
		return true, "allowed: nodes read " + gr.String()
	case gr == schema.GroupResource{Resource: "nodes"}:
		if a.Name == node && (write && (a.Subresource == "" || a.Subresource == "status") || a.isRead() && a.Subresource == "status") {
			return true, "allowed: a node writes its own Node"
		}
		return false, fmt.Sprintf("node %q may only write its own Node", node)
	case gr == schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}:
		if a.Namespace == NodeLeaseNamespace && a.Name == node && a.Subresource == "" && (write || a.Verb == "get") {
			return true, "allowed: a node keeps its own Lease"
		}
		return false, fmt.Sprintf("node %q may only use its own Lease in %s", node, NodeLeaseNamespace)
	case gr == schema.GroupResource{Resource: "pods"}:
		if a.Subresource == "status" && (a.Verb == "update" || a.Verb == "patch" || a.Verb == "get") ||
			a.Subresource == "" && a.Verb == "delete" {
			return true, "allowed: a node updates and removes pods bound to it (binding checked by the caller)"
		}
		return false, fmt.Sprintf("node %q may only update the status of and delete pods bound to it", node)
	case a.Resource == "events" && (a.APIGroup == "" || a.APIGroup == "events.k8s.io") && write && a.Subresource == "":
		return true, "allowed: nodes record events"
	}
	return false, fmt.Sprintf("node %q may not %s %s", node, a.Verb, gr.String())
}

// NodeName returns the node of a node identity (user system:node:<name> in
// group system:nodes), and false for any other user.
func NodeName(user User) (string, bool) {
	name, ok := strings.CutPrefix(user.Name, NodeUserPrefix)
	if !ok || name == "" || !user.InGroup(NodesGroup) {
		return "", false
	}
	return name, true
}

// ForbiddenError returns the 403 Forbidden error for a refused request, with
// Kubernetes' message: `nodes "b" is forbidden: User "system:node:a" cannot
// update resource "nodes" in API group "" at the cluster scope`.
func ForbiddenError(user User, attrs Attributes) *apierrors.StatusError {
	if attrs.Resource == "" {
		return apierrors.NewForbidden(schema.GroupResource{}, "",
			fmt.Errorf("User %q cannot %s path %q", user.Name, attrs.Verb, attrs.Path))
	}
	resource := attrs.Resource
	if attrs.Subresource != "" {
		resource += "/" + attrs.Subresource
	}
	var msg string
	if attrs.Namespace != "" {
		msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", user.Name, attrs.Verb, resource, attrs.APIGroup, attrs.Namespace)
	} else {
		msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", user.Name, attrs.Verb, resource, attrs.APIGroup)
	}
	return apierrors.NewForbidden(schema.GroupResource{Group: attrs.APIGroup, Resource: attrs.Resource}, attrs.Name, fmt.Errorf("%s", msg))
}

// CheckPodBinding is the check Authorize leaves to the REST core for pods:
// when user is a node and attrs is a write to a core-group pod (its status,
// or a delete), the stored pod must be bound to that node
// (spec.nodeName). It returns nil when the rule does not apply or holds, and
// a 403 Forbidden error otherwise. The core calls it with the pod as stored,
// before applying the change.
func CheckPodBinding(user User, attrs Attributes, pod *corev1.Pod) error {
	node, ok := NodeName(user)
	if !ok || attrs.APIGroup != "" || attrs.Resource != "pods" || attrs.isRead() {
		return nil
	}
	if pod != nil && pod.Spec.NodeName != "" && pod.Spec.NodeName == node {
		return nil
	}
	bound := ""
	if pod != nil {
		bound = pod.Spec.NodeName
	}
	return apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, attrs.Name,
		fmt.Errorf("node %q can only %s pods with spec.nodeName set to itself, this pod is bound to %q", node, attrs.Verb, bound))
}
