package config

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Proxy configures a node's Service proxy (navarch agent, navarch up): the
// nftables table it owns and how often it syncs. The Service CIDR it routes
// locally and the pod network it does not masquerade are the server
// section's (--service-cidr, --cluster-cidr), which navarch agent takes too
// and must set as the server does.
//
//	proxy:
//	  disable: false             # --disable-proxy
//	  table: navarch             # --proxy-table: nftables table (family ip)
//	  node-ips: []               # --proxy-node-ips (default: the node's IP)
//	  sync-period: 30s           # --proxy-sync-period
//	  min-sync-interval: 20ms    # --proxy-min-sync-interval
type Proxy struct {
	// Disable turns the Service proxy off: Service addresses then reach
	// nothing on this node.
	Disable bool `mapstructure:"disable"`
	// Table is the nftables table (family ip) the proxy owns and replaces.
	Table string `mapstructure:"table"`
	// NodeIPs accept NodePort traffic (127.0.0.1 always does); empty
	// means the node's IP (agent.node-ip, or the one the kubelet finds).
	NodeIPs []string `mapstructure:"node-ips"`
	// SyncPeriod is how often the proxy checks that its table is as it
	// left it.
	SyncPeriod time.Duration `mapstructure:"sync-period"`
	// MinSyncInterval is the least time between two syncs; changes closer
	// together are applied together.
	MinSyncInterval time.Duration `mapstructure:"min-sync-interval"`
}

// DefaultProxyTable is the nftables table the proxy owns by default.
const DefaultProxyTable = "navarch"

// ProxyOptions returns the Service proxy's options (navarch agent,
// navarch up).
func ProxyOptions() []Option {
	return []Option{
		{Key: "proxy.disable", Flag: "disable-proxy", Usage: "do not run the Service proxy on this node", Default: false},
		{Key: "proxy.table", Flag: "proxy-table", Usage: "nftables table (family ip) the Service proxy owns", Default: DefaultProxyTable},
		{Key: "proxy.node-ips", Flag: "proxy-node-ips", Usage: "addresses that accept NodePort traffic besides 127.0.0.1 (default: the node's IP)", Default: []string{}},
		{Key: "proxy.sync-period", Flag: "proxy-sync-period", Usage: "how often the Service proxy checks its nftables table", Default: 30 * time.Second},
		{Key: "proxy.min-sync-interval", Flag: "proxy-min-sync-interval", Usage: "least time between two Service proxy syncs", Default: 20 * time.Millisecond},
	}
}

// ServiceCIDROption is the server section's --service-cidr, which navarch
// agent takes as well: its proxy routes the range locally, and must agree
// with the server.
func ServiceCIDROption() Option {
	return Option{Key: "server.service-cidr", Flag: "service-cidr", Usage: "range of Service cluster IPs (routed locally on every node; agents must give the server's)", Default: DefaultServiceCIDR}
}

// ClusterCIDROption is the server section's --cluster-cidr, which navarch
// agent takes as well: the node-IPAM controller splits the range into one
// /24 per node, and each node's proxy leaves connections from it
// unmasqueraded, so agents must give the server's.
func ClusterCIDROption() Option {
	return Option{Key: "server.cluster-cidr", Flag: "cluster-cidr", Usage: "pod network, split into one /24 per node (agents must give the server's)", Default: DefaultClusterCIDR}
}

// Validate reports every invalid proxy setting.
func (p Proxy) Validate() error {
	var errs []error
	if p.Table == "" || len(p.Table) > 64 {
		errs = append(errs, fmt.Errorf("proxy.table: want a name of 1 to 64 characters, got %q", p.Table))
	}
	for _, ip := range p.NodeIPs {
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
			errs = append(errs, fmt.Errorf("proxy.node-ips: want IPv4 addresses, got %q", ip))
		}
	}
	if p.SyncPeriod <= 0 || p.MinSyncInterval <= 0 {
		errs = append(errs, errors.New("proxy.sync-period and proxy.min-sync-interval: want positive durations"))
	}
	return errors.Join(errs...)
}
