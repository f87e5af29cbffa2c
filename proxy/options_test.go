package proxy

import (
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestOptionsAreValidated(t *testing.T) {
	base := Options{NodeName: "n"}
	tests := []struct {
		name  string
		opts  func(Options) Options
		valid bool
	}{
		{"defaults with a node and a client", func(o Options) Options { o.Client = unusedClient(t); return o }, true},
		{"no client", func(o Options) Options { return o }, false},
		{"no node name", func(o Options) Options { o.Client, o.NodeName = unusedClient(t), ""; return o }, false},
		{"a bad Service CIDR", func(o Options) Options { o.Client, o.ServiceCIDR = unusedClient(t), "fd00::/108"; return o }, false},
		{"a bad cluster CIDR", func(o Options) Options { o.Client, o.ClusterCIDR = unusedClient(t), "nope"; return o }, false},
		{"a bad node IP", func(o Options) Options { o.Client, o.NodeIPs = unusedClient(t), []string{"::1"}; return o }, false},
		{"a negative interval", func(o Options) Options { o.Client, o.MinSyncInterval = unusedClient(t), -1; return o }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.opts(base).Validate(); (err == nil) != tt.valid {
				t.Errorf("got %v, want valid %v", err, tt.valid)
			}
		})
	}
}

// unusedClient returns a client of an address nothing listens on, for
// code that only checks that a client is given.
func unusedClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
