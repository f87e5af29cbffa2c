package auth

import (
	"errors"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	admin   = User{Name: AdminUser, Groups: []string{MastersGroup, AuthenticatedGroup}}
	viewer  = User{Name: "alice", Groups: []string{ViewGroup, AuthenticatedGroup}}
	nodeA   = User{Name: "system:node:a", Groups: []string{NodesGroup, AuthenticatedGroup}}
	nobody  = User{Name: "bob", Groups: []string{AuthenticatedGroup}}
	fakeNod = User{Name: "system:node:a", Groups: []string{AuthenticatedGroup}} // the name without the group
)

func res(verb, group, resource, sub, ns, name string) Attributes {
	return Attributes{Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name  string
		user  User
		attrs Attributes
		want  bool
	}{
		{"admin creates deployments", admin, res("create", "apps", "deployments", "", "default", "web"), true},
		{"admin deletes nodes", admin, res("delete", "", "nodes", "", "", "a"), true},
		{"admin reads metrics", admin, Attributes{Verb: "get", Path: "/metrics"}, true},
		{"admin deletes a collection of sources", admin, res("deletecollection", "gitops.navarch.dev", "sources", "", "navarch-system", ""), true},

		{"view lists pods", viewer, res("list", "", "pods", "", "default", ""), true},
		{"view watches deployments", viewer, res("watch", "apps", "deployments", "", "", ""), true},
		{"view gets a source", viewer, res("get", "gitops.navarch.dev", "sources", "", "navarch-system", "shop"), true},
		{"view reads pod logs", viewer, res("get", "", "pods", "log", "default", "web-1"), true},
		{"view creates a pod", viewer, res("create", "", "pods", "", "default", "x"), false},
		{"view patches a deployment", viewer, res("patch", "apps", "deployments", "", "default", "web"), false},
		{"view deletes a namespace", viewer, res("delete", "", "namespaces", "", "", "default"), false},
		{"view scales a deployment", viewer, res("update", "apps", "deployments", "scale", "default", "web"), false},
		{"view reads a secret", viewer, res("get", "", "secrets", "", "default", "shop-git"), false},
		{"view reads discovery", viewer, Attributes{Verb: "get", Path: "/apis/apps/v1"}, true},
		{"view reads metrics", viewer, Attributes{Verb: "get", Path: "/metrics"}, false},

		{"node reads pods", nodeA, res("list", "", "pods", "", "", ""), true},
		{"node watches services", nodeA, res("watch", "", "services", "", "", ""), true},
		{"node watches endpointslices", nodeA, res("watch", "discovery.k8s.io", "endpointslices", "", "", ""), true},
		{"node reads a secret", nodeA, res("get", "", "secrets", "", "default", "s"), true},
		{"node reads a configmap", nodeA, res("get", "", "configmaps", "", "default", "c"), true},
		{"node lists nodes", nodeA, res("list", "", "nodes", "", "", ""), true},
		{"node gets a namespace", nodeA, res("get", "", "namespaces", "", "", "default"), true},
		{"node creates its own Node", nodeA, res("create", "", "nodes", "", "", "a"), true},
		{"node updates its own Node", nodeA, res("update", "", "nodes", "", "", "a"), true},
		{"node patches its own Node status", nodeA, res("patch", "", "nodes", "status", "", "a"), true},
		{"node updates another Node", nodeA, res("update", "", "nodes", "", "", "b"), false},
		{"node patches another Node's status", nodeA, res("patch", "", "nodes", "status", "", "b"), false},
		{"node creates another Node", nodeA, res("create", "", "nodes", "", "", "b"), false},
		{"node deletes its own Node", nodeA, res("delete", "", "nodes", "", "", "a"), false},
		{"node gets its own Lease", nodeA, res("get", "coordination.k8s.io", "leases", "", "kube-node-lease", "a"), true},
		{"node creates its own Lease", nodeA, res("create", "coordination.k8s.io", "leases", "", "kube-node-lease", "a"), true},
		{"node updates its own Lease", nodeA, res("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "a"), true},
		{"node updates another node's Lease", nodeA, res("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "b"), false},
		{"node updates its name's Lease elsewhere", nodeA, res("update", "coordination.k8s.io", "leases", "", "kube-system", "a"), false},
		{"node updates pod status", nodeA, res("update", "", "pods", "status", "default", "web-1"), true},
		{"node patches pod status", nodeA, res("patch", "", "pods", "status", "default", "web-1"), true},
		{"node deletes a pod", nodeA, res("delete", "", "pods", "", "default", "web-1"), true},
		{"node updates a pod spec", nodeA, res("update", "", "pods", "", "default", "web-1"), false},
		{"node creates a pod", nodeA, res("create", "", "pods", "", "default", "x"), false},
		{"node binds a pod", nodeA, res("create", "", "pods", "binding", "default", "web-1"), false},
		{"node creates an event", nodeA, res("create", "", "events", "", "default", ""), true},
		{"node patches an event", nodeA, res("patch", "", "events", "", "default", "e"), true},
		{"node deletes an event", nodeA, res("delete", "", "events", "", "default", "e"), false},
		{"node creates a deployment", nodeA, res("create", "apps", "deployments", "", "default", "x"), false},
		{"node reads deployments", nodeA, res("list", "apps", "deployments", "", "", ""), false},
		{"node writes a configmap", nodeA, res("update", "", "configmaps", "", "default", "c"), false},
		{"node reads discovery", nodeA, Attributes{Verb: "get", Path: "/api/v1"}, true},
		{"a node name without the nodes group is nobody", fakeNod, res("update", "", "nodes", "", "", "a"), false},

		{"unknown user lists pods", nobody, res("list", "", "pods", "", "default", ""), false},
		{"unknown user creates a namespace", nobody, res("create", "", "namespaces", "", "", "x"), false},
		{"unknown user reads version", nobody, Attributes{Verb: "get", Path: "/version"}, true},
		{"unknown user reads openapi", nobody, Attributes{Verb: "get", Path: "/openapi/v3/apis/apps/v1"}, true},
		{"unknown user reads healthz", nobody, Attributes{Verb: "get", Path: "/healthz"}, true},
		{"unknown user posts to a discovery path", nobody, Attributes{Verb: "post", Path: "/api"}, false},
		{"unknown user reads a look-alike path", nobody, Attributes{Verb: "get", Path: "/apisx"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := Authorize(tt.user, tt.attrs)
			if got != tt.want {
				t.Errorf("got allowed=%v (%s), want %v", got, reason, tt.want)
			}
			if reason == "" {
				t.Error("got an empty reason")
			}
		})
	}
}

func TestForbiddenErrorSpeaksLikeKubernetes(t *testing.T) {
	tests := []struct {
		name  string
		user  User
		attrs Attributes
		want  string
	}{
		{"a cluster-scoped object", nodeA, res("update", "", "nodes", "", "", "b"),
			`nodes "b" is forbidden: User "system:node:a" cannot update resource "nodes" in API group "" at the cluster scope`},
		{"a namespaced list", viewer, res("create", "apps", "deployments", "", "default", ""),
			`deployments.apps is forbidden: User "alice" cannot create resource "deployments" in API group "apps" in the namespace "default"`},
		{"a subresource", nodeA, res("patch", "", "nodes", "status", "", "b"),
			`nodes "b" is forbidden: User "system:node:a" cannot patch resource "nodes/status" in API group "" at the cluster scope`},
		{"a path", nobody, Attributes{Verb: "get", Path: "/metrics"},
			`forbidden: User "bob" cannot get path "/metrics"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ForbiddenError(tt.user, tt.attrs)
			if err.Status().Message != tt.want {
				t.Errorf("got message %q,\nwant %q", err.Status().Message, tt.want)
			}
			if err.Status().Code != http.StatusForbidden || err.Status().Reason != metav1.StatusReasonForbidden {
				t.Errorf("got %d %s, want 403 Forbidden", err.Status().Code, err.Status().Reason)
			}
		})
	}
}

func TestCheckPodBindingLetsANodeTouchOnlyItsOwnPods(t *testing.T) {
	boundTo := func(node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"}, Spec: corev1.PodSpec{NodeName: node}}
	}
	status := res("patch", "", "pods", "status", "default", "web-1")
	tests := []struct {
		name    string
		user    User
		attrs   Attributes
		pod     *corev1.Pod
		wantErr bool
	}{
		{"a node patches the status of its pod", nodeA, status, boundTo("a"), false},
		{"a node deletes its pod", nodeA, res("delete", "", "pods", "", "default", "web-1"), boundTo("a"), false},
		{"a node patches the status of another node's pod", nodeA, status, boundTo("b"), true},
		{"a node deletes another node's pod", nodeA, res("delete", "", "pods", "", "default", "web-1"), boundTo("b"), true},
		{"a node patches the status of an unbound pod", nodeA, status, boundTo(""), true},
		{"a node reads another node's pod", nodeA, res("get", "", "pods", "", "default", "web-1"), boundTo("b"), false},
		{"the admin patches any pod", admin, status, boundTo("b"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPodBinding(tt.user, tt.attrs, tt.pod)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			var se *apierrors.StatusError
			if err != nil && (!errors.As(err, &se) || !apierrors.IsForbidden(err)) {
				t.Errorf("got %T %v, want a Forbidden StatusError", err, err)
			}
		})
	}
}

func TestNodeNameNeedsTheNodesGroup(t *testing.T) {
	if n, ok := NodeName(nodeA); !ok || n != "a" {
		t.Errorf("got %q, %v; want a, true", n, ok)
	}
	if _, ok := NodeName(fakeNod); ok {
		t.Error("a user named like a node but outside system:nodes was taken for a node")
	}
	if _, ok := NodeName(User{Name: "system:node:", Groups: []string{NodesGroup}}); ok {
		t.Error("an empty node name was accepted")
	}
}
