package apiserver_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/navarch/navarch/internal/testserver"
)

func TestDiscoveryListsEveryResourceForClientGo(t *testing.T) {
	srv := testserver.Start(t)
	for _, legacy := range []bool{false, true} {
		name := "aggregated"
		if legacy {
			name = "legacy"
		}
		t.Run(name, func(t *testing.T) {
			dc, err := discovery.NewDiscoveryClientForConfig(srv.RESTConfig())
			if err != nil {
				t.Fatal(err)
			}
			dc.UseLegacyDiscovery = legacy
			groups, lists, err := dc.ServerGroupsAndResources()
			if err != nil {
				t.Fatalf("discovery: %v", err)
			}
			var names []string
			for _, g := range groups {
				names = append(names, g.Name)
			}
			for _, want := range []string{"", "apps", "coordination.k8s.io", "discovery.k8s.io", "gitops.navarch.dev"} {
				if !slices.Contains(names, want) {
					t.Errorf("groups %v: want %q", names, want)
				}
			}
			found := map[string]bool{}
			for _, l := range lists {
				gv, _ := schema.ParseGroupVersion(l.GroupVersion)
				for _, r := range l.APIResources {
					found[gv.String()+" "+r.Name] = true
					if r.Name == "pods" && (!r.Namespaced || r.Kind != "Pod" || !slices.Contains(r.ShortNames, "po") || !slices.Contains(r.Verbs, "watch")) {
						t.Errorf("pods: got %+v", r)
					}
					if r.Name == "deployments/scale" && (r.Group != "autoscaling" || r.Kind != "Scale") {
						t.Errorf("deployments/scale: got %+v, want autoscaling/v1 Scale", r)
					}
				}
			}
			for _, want := range []string{"v1 pods", "v1 pods/status", "v1 pods/binding", "v1 namespaces", "apps/v1 deployments/scale", "gitops.navarch.dev/v1alpha1 sources"} {
				if !found[want] {
					t.Errorf("resources: want %q", want)
				}
			}
		})
	}
}

func TestAggregatedDiscoveryAnswersWithItsMediaType(t *testing.T) {
	srv := testserver.Start(t)
	c := rawClient(t, srv, srv.AdminToken())
	resp := c.do("GET", "/apis", nil, "Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	if resp.code != http.StatusOK {
		t.Fatalf("got %d", resp.code)
	}
	if ct := resp.header.Get("Content-Type"); !strings.Contains(ct, "as=APIGroupDiscoveryList") || !strings.Contains(ct, "v=v2") {
		t.Errorf("Content-Type: got %q, want the aggregated discovery type", ct)
	}
	var list apidiscoveryv2.APIGroupDiscoveryList
	if err := json.Unmarshal(resp.body, &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "APIGroupDiscoveryList" || len(list.Items) < 4 {
		t.Errorf("got %s with %d groups", list.Kind, len(list.Items))
	}
	resp = c.do("GET", "/apis", nil)
	if ct := resp.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("legacy /apis Content-Type: got %q, want application/json", ct)
	}
}

func TestVersionAndHealthAreOpenAndMetricsNeedTheAdmin(t *testing.T) {
	srv := testserver.Start(t)
	anonymous := rawClient(t, srv, "")
	for _, path := range []string{"/healthz", "/livez", "/readyz", "/readyz?verbose"} {
		if r := anonymous.do("GET", path, nil); r.code != http.StatusOK {
			t.Errorf("%s: got %d %s", path, r.code, r.body)
		}
	}
	r := anonymous.do("GET", "/version", nil)
	var v struct{ GitVersion, Major, Minor string }
	if err := json.Unmarshal(r.body, &v); err != nil || v.Major != "1" || !strings.HasPrefix(v.GitVersion, "v1.") {
		t.Errorf("/version: got %s", r.body)
	}
	if r := anonymous.do("GET", "/metrics", nil); r.code != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: got %d, want 401", r.code)
	}
	viewer := rawClient(t, srv, srv.AddToken("v", "navarch:view"))
	if r := viewer.do("GET", "/metrics", nil); r.code != http.StatusForbidden {
		t.Errorf("/metrics as a viewer: got %d, want 403", r.code)
	}
	admin := rawClient(t, srv, srv.AdminToken())
	admin.do("GET", "/api/v1/namespaces/default/pods", nil)
	r = admin.do("GET", "/metrics", nil)
	for _, want := range []string{
		`apiserver_request_total{code="200",resource="pods",verb="LIST"}`,
		`apiserver_request_duration_seconds_bucket{resource="pods",verb="LIST"`,
		`etcd_request_duration_seconds_bucket{operation="list"`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics: want %s", want)
		}
	}
}

func TestReadyzAndHealthzFailWhileEtcdIsGoneAndLivezPasses(t *testing.T) {
	srv := testserver.Start(t)
	anonymous := rawClient(t, srv, "")
	if err := srv.Store().Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	for _, path := range []string{"/readyz", "/healthz"} {
		r := anonymous.do("GET", path, nil)
		if r.code != http.StatusServiceUnavailable {
			t.Errorf("%s: got %d %s, want 503", path, r.code, r.body)
		}
		if want := "[-]etcd failed: reason withheld\n"; !strings.Contains(string(r.body), want) {
			t.Errorf("%s: got %q, want it to contain %q", path, r.body, want)
		}
	}
	if r := anonymous.do("GET", "/livez", nil); r.code != http.StatusOK || string(r.body) != "ok" {
		t.Errorf("/livez: got %d %q, want 200 ok", r.code, r.body)
	}
}
