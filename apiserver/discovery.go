package apiserver

import (
	"net/http"
	"runtime"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/navarch/navarch/api"
)

// KubernetesVersion is the Kubernetes version navarch's API speaks, as
// /version reports it; clients compare it with their own to warn of skew.
const KubernetesVersion = "v1.37.0-navarch"

// mediaDiscoveryV2 is the aggregated discovery document's media type.
const mediaDiscoveryV2 = mediaJSON + ";g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

var resourceVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// subresourceInfo describes a served subresource for discovery.
type subresourceInfo struct {
	kind  schema.GroupVersionKind
	verbs []string
}

// subresourceFor returns the discovery entry of a subresource of r.
func subresourceFor(r api.Resource, sub string) subresourceInfo {
	switch sub {
	case "scale":
		return subresourceInfo{schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, []string{"get", "patch", "update"}}
	case "binding":
		return subresourceInfo{schema.GroupVersionKind{Version: "v1", Kind: "Binding"}, []string{"create"}}
	case "log":
		return subresourceInfo{r.GroupVersionKind(), []string{"get"}}
	case "finalize":
		return subresourceInfo{r.GroupVersionKind(), []string{"update"}}
	default: // status
		return subresourceInfo{r.GroupVersionKind(), []string{"get", "patch", "update"}}
	}
}

// discovery holds the discovery documents, built once: they change only
// with the binary.
type discovery struct {
	apiVersions   *metav1.APIVersions
	groups        *metav1.APIGroupList
	groupByName   map[string]*metav1.APIGroup
	resourceLists map[schema.GroupVersion]*metav1.APIResourceList
	aggregated    map[string]*apidiscoveryv2.APIGroupDiscoveryList // "api" and "apis"
	version       *version.Info
}

func newDiscovery(serverAddress string) *discovery {
	d := &discovery{
		apiVersions: &metav1.APIVersions{
			TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
			Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{
				{ClientCIDR: "0.0.0.0/0", ServerAddress: serverAddress},
			},
		},
		groups:        &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}},
		groupByName:   map[string]*metav1.APIGroup{},
		resourceLists: map[schema.GroupVersion]*metav1.APIResourceList{},
		aggregated:    map[string]*apidiscoveryv2.APIGroupDiscoveryList{},
		version: &version.Info{
			Major:        "1",
			Minor:        "37",
			GitVersion:   KubernetesVersion,
			GitTreeState: "clean",
			GoVersion:    runtime.Version(),
			Compiler:     runtime.Compiler,
			Platform:     runtime.GOOS + "/" + runtime.GOARCH,
		},
	}
	for _, prefix := range []string{"api", "apis"} {
		d.aggregated[prefix] = &apidiscoveryv2.APIGroupDiscoveryList{
			TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"},
		}
	}
	for _, gv := range api.GroupVersions() {
		d.addGroupVersion(gv)
	}
	return d
}

func (d *discovery) addGroupVersion(gv schema.GroupVersion) {
	list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
	version := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
	for _, r := range api.Resources() {
		if r.GroupVersion() != gv {
			continue
		}
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: r.Resource, SingularName: r.Singular, Namespaced: r.Namespaced, Kind: r.Kind,
			Verbs: resourceVerbs, ShortNames: r.ShortNames, Categories: r.Categories,
		})
		scope := apidiscoveryv2.ScopeCluster
		if r.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		rd := apidiscoveryv2.APIResourceDiscovery{
			Resource: r.Resource, ResponseKind: &metav1.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind},
			Scope: scope, SingularResource: r.Singular, Verbs: resourceVerbs, ShortNames: r.ShortNames, Categories: r.Categories,
		}
		for _, sub := range r.Subresources {
			info := subresourceFor(r, sub)
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: r.Resource + "/" + sub, Namespaced: r.Namespaced, Group: info.kind.Group, Version: info.kind.Version,
				Kind: info.kind.Kind, Verbs: info.verbs,
			})
			rd.Subresources = append(rd.Subresources, apidiscoveryv2.APISubresourceDiscovery{
				Subresource:  sub,
				ResponseKind: &metav1.GroupVersionKind{Group: info.kind.Group, Version: info.kind.Version, Kind: info.kind.Kind},
				Verbs:        info.verbs,
			})
		}
		version.Resources = append(version.Resources, rd)
	}
	d.resourceLists[gv] = list

	prefix := "apis"
	if gv.Group == "" {
		prefix = "api"
	}
	agg := d.aggregated[prefix]
	found := false
	for i := range agg.Items {
		if agg.Items[i].Name == gv.Group {
			agg.Items[i].Versions = append(agg.Items[i].Versions, version)
			found = true
		}
	}
	if !found {
		agg.Items = append(agg.Items, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}, Versions: []apidiscoveryv2.APIVersionDiscovery{version}})
	}
	if gv.Group == "" {
		return
	}
	g, ok := d.groupByName[gv.Group]
	if !ok {
		d.groups.Groups = append(d.groups.Groups, metav1.APIGroup{Name: gv.Group})
		g = &d.groups.Groups[len(d.groups.Groups)-1]
	}
	gvd := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
	g.Versions = append(g.Versions, gvd)
	if g.PreferredVersion.Version == "" {
		g.PreferredVersion = gvd
	}
	// Pointers into the slice move when it grows: index again.
	for i := range d.groups.Groups {
		d.groupByName[d.groups.Groups[i].Name] = &d.groups.Groups[i]
	}
}

// wantsAggregated reports whether the client prefers aggregated discovery
// (apidiscovery.k8s.io/v2) to the legacy documents.
func wantsAggregated(r *http.Request) bool {
	for _, m := range parseAccept(r.Header.Get("Accept")) {
		if m.base != mediaJSON {
			continue
		}
		if m.params["as"] == "" {
			return false
		}
		if m.params["g"] == "apidiscovery.k8s.io" && m.params["v"] == "v2" && m.params["as"] == "APIGroupDiscoveryList" {
			return true
		}
	}
	return false
}

// serveDiscovery answers /api, /apis, /api/v1, /apis/<group> and
// /apis/<group>/<version>. It reports false for other paths.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) bool {
	parts := splitPath(r.URL.Path)
	if len(parts) == 0 || (parts[0] != "api" && parts[0] != "apis") {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, errMethodNotAllowed(r))
		return true
	}
	d := s.discovery
	switch {
	case len(parts) == 1 && wantsAggregated(r):
		out := output{pretty: isTrue(r.URL.Query().Get("pretty")), contentType: mediaDiscoveryV2}
		writeBody(w, out, http.StatusOK, d.aggregated[parts[0]])
	case len(parts) == 1 && parts[0] == "api":
		writeJSON(w, r, http.StatusOK, d.apiVersions)
	case len(parts) == 1:
		writeJSON(w, r, http.StatusOK, d.groups)
	case len(parts) == 2 && parts[0] == "api":
		list, ok := d.resourceLists[schema.GroupVersion{Version: parts[1]}]
		if !ok {
			writeError(w, r, errNotFoundPath())
			return true
		}
		writeJSON(w, r, http.StatusOK, list)
	case len(parts) == 2:
		g, ok := d.groupByName[parts[1]]
		if !ok {
			writeError(w, r, errNotFoundPath())
			return true
		}
		group := *g
		group.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
		writeJSON(w, r, http.StatusOK, &group)
	case len(parts) == 3 && parts[0] == "apis":
		list, ok := d.resourceLists[schema.GroupVersion{Group: parts[1], Version: parts[2]}]
		if !ok {
			writeError(w, r, errNotFoundPath())
			return true
		}
		writeJSON(w, r, http.StatusOK, list)
	default:
		return false
	}
	return true
}

// serveVersion answers /version.
func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, s.discovery.version)
}

func errMethodNotAllowed(r *http.Request) error {
	return newStatusError(http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
		"the server does not allow this method on the requested resource ("+strings.ToLower(r.Method)+" "+r.URL.Path+")")
}
