package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Defaults of Options.
const (
	// DefaultTableName is the nftables table (family ip) the proxy owns.
	DefaultTableName = "navarch"
	// DefaultServiceCIDR is Kubernetes' default Service range.
	DefaultServiceCIDR = "10.96.0.0/12"
	// DefaultSyncPeriod is how often the proxy checks that its table is
	// still as it left it, rebuilding it when not.
	DefaultSyncPeriod = 30 * time.Second
	// DefaultMinSyncInterval is the least time between two syncs: changes
	// arriving closer together are applied together.
	DefaultMinSyncInterval = 20 * time.Millisecond
)

// Options configures a Proxier.
type Options struct {
	// NodeName is this node's name (internalTrafficPolicy Local picks the
	// endpoints on it). Required.
	NodeName string
	// NodeIPs are the node's IPv4 addresses that accept NodePort traffic;
	// NodePorts answer on 127.0.0.1 as well. Empty: the IPv4 InternalIP
	// addresses of the Node named NodeName, watched (127.0.0.1 only until
	// the Node reports one).
	NodeIPs []string
	// TableName is the nftables table of family ip the proxy owns and
	// replaces; empty means DefaultTableName.
	TableName string
	// ServiceCIDR is the Service range (IPv4), routed locally on this node;
	// empty means DefaultServiceCIDR.
	ServiceCIDR string
	// ClusterCIDR, the pod network, when set: connections to cluster IPs
	// from outside it are masqueraded and pods keep their source address.
	// Empty masquerades every connection to a cluster IP.
	ClusterCIDR string
	// Client reaches the API server; when nil, one is made from
	// ClientConfig. One of them is required.
	Client       kubernetes.Interface
	ClientConfig *rest.Config
	// SyncPeriod: see DefaultSyncPeriod; 0 means that.
	SyncPeriod time.Duration
	// MinSyncInterval: see DefaultMinSyncInterval; 0 means that.
	MinSyncInterval time.Duration
	// Logger receives the proxy's messages; nil means slog.Default().
	Logger *slog.Logger
	// OnSync, when set, is called after every sync attempt (for metrics
	// and tests). It must not block.
	OnSync func(SyncInfo)
}

// SyncInfo describes one sync.
type SyncInfo struct {
	ApplyResult
	// Services is the number of Services with rules.
	Services int
	// Render and Apply are the time spent rendering the ruleset and
	// writing it into nftables.
	Render, Apply time.Duration
	// Err is the sync's failure, nil on success.
	Err error
}

func (o Options) withDefaults() Options {
	if o.TableName == "" {
		o.TableName = DefaultTableName
	}
	if o.ServiceCIDR == "" {
		o.ServiceCIDR = DefaultServiceCIDR
	}
	if o.SyncPeriod == 0 {
		o.SyncPeriod = DefaultSyncPeriod
	}
	if o.MinSyncInterval == 0 {
		o.MinSyncInterval = DefaultMinSyncInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Validate reports every invalid option; nil means New accepts them.
func (o Options) Validate() error {
	o = o.withDefaults()
	_, err := o.config()
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if o.Client == nil && o.ClientConfig == nil {
		errs = append(errs, errors.New("proxy: a Client or a ClientConfig is required"))
	}
	if o.SyncPeriod < 0 || o.MinSyncInterval < 0 {
		errs = append(errs, errors.New("proxy: sync intervals must not be negative"))
	}
	return errors.Join(errs...)
}

// config turns the options (with defaults) into the renderer's Config.
func (o Options) config() (Config, error) {
	var errs []error
	cfg := Config{TableName: o.TableName, NodeName: o.NodeName}
	if o.NodeName == "" {
		errs = append(errs, errors.New("proxy: NodeName is required"))
	}
	if len(o.TableName) > 64 {
		errs = append(errs, fmt.Errorf("proxy: table name %q is too long", o.TableName))
	}
	var err error
	if cfg.ServiceCIDR, err = netip.ParsePrefix(o.ServiceCIDR); err != nil || !cfg.ServiceCIDR.Addr().Is4() {
		errs = append(errs, fmt.Errorf("proxy: service CIDR %q: want an IPv4 prefix", o.ServiceCIDR))
	}
	cfg.ServiceCIDR = cfg.ServiceCIDR.Masked()
	if o.ClusterCIDR != "" {
		if cfg.ClusterCIDR, err = netip.ParsePrefix(o.ClusterCIDR); err != nil || !cfg.ClusterCIDR.Addr().Is4() {
			errs = append(errs, fmt.Errorf("proxy: cluster CIDR %q: want an IPv4 prefix", o.ClusterCIDR))
		}
		cfg.ClusterCIDR = cfg.ClusterCIDR.Masked()
	}
	for _, s := range o.NodeIPs {
		ip, err := netip.ParseAddr(s)
		if err != nil || !ip.Is4() {
			errs = append(errs, fmt.Errorf("proxy: node IP %q: want an IPv4 address", s))
			continue
		}
		cfg.NodeIPs = append(cfg.NodeIPs, ip)
	}
	return cfg, errors.Join(errs...)
}
