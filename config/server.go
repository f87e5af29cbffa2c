package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Server configures the control plane: the API server and the etcd store
// behind it.
type Server struct {
	// BindAddress is the IP address the API server listens on.
	BindAddress string `mapstructure:"bind-address"`
	// Port is the API server's HTTPS port; 0 picks a free one, which the
	// written kubeconfig names.
	Port int `mapstructure:"port"`
	// TokensFile maps bearer tokens to users and groups, besides the admin
	// token generated at first start, in Kubernetes' static token format
	// (token,user,uid,"group1,group2" per line); "" for none.
	TokensFile string `mapstructure:"tokens-file"`
	// MaxRequestBytes caps a request body; larger ones get 413.
	MaxRequestBytes int64 `mapstructure:"max-request-bytes"`
	// TLSSANs are extra host names and IP addresses for the serving
	// certificate, besides localhost, 127.0.0.1 and the bind address.
	TLSSANs []string `mapstructure:"tls-san"`
	// ServiceCIDR is the IPv4 range Services' cluster IPs come from; every
	// node routes it locally.
	ServiceCIDR string `mapstructure:"service-cidr"`
	// ClusterCIDR is the IPv4 pod network: the node-IPAM controller gives
	// each node a /24 of it, and the proxies do not masquerade connections
	// from it.
	ClusterCIDR string `mapstructure:"cluster-cidr"`
	// NodePortRange is the inclusive range of node ports, "first-last".
	NodePortRange string `mapstructure:"service-node-port-range"`
	// Etcd is the store's etcd: embedded, or an external cluster.
	Etcd Etcd `mapstructure:"etcd"`
}

// Etcd selects and tunes the etcd behind the store.
type Etcd struct {
	// Endpoints of an external etcd cluster; empty runs etcd embedded in
	// the process, with its data under <data-dir>/etcd.
	Endpoints []string `mapstructure:"endpoints"`
	// CAFile, CertFile and KeyFile are TLS files for an external cluster.
	CAFile   string `mapstructure:"cafile"`
	CertFile string `mapstructure:"certfile"`
	KeyFile  string `mapstructure:"keyfile"`
	// CompactionInterval is how often old revisions are compacted; 0 turns
	// compaction off.
	CompactionInterval time.Duration `mapstructure:"compaction-interval"`
	// CompactionRetention is how much history a compaction keeps: a watch
	// may resume from any revision younger than this.
	CompactionRetention time.Duration `mapstructure:"compaction-retention"`
}

// DefaultMaxRequestBytes is the default cap on a request body (3 MiB).
const DefaultMaxRequestBytes int64 = 3 << 20

// Defaults of the cluster's networks: Kubernetes' own for Services, and
// flannel's (as kubeadm's guides give it) for pods.
const (
	DefaultServiceCIDR   = "10.96.0.0/12"
	DefaultNodePortRange = "30000-32767"
	DefaultClusterCIDR   = "10.244.0.0/16"
)

// NodeCIDRMaskSize is the prefix length of the pod CIDR each node gets
// from the cluster CIDR.
const NodeCIDRMaskSize = 24

// ServerOptions returns the control plane's options (navarch server, navarch up).
func ServerOptions() []Option {
	return []Option{
		{Key: "server.bind-address", Flag: "bind-address", Usage: "IP address the API server listens on", Default: "127.0.0.1"},
		{Key: "server.port", Flag: "port", Usage: "HTTPS port of the API server (0: any free port)", Default: 6443},
		{Key: "server.tokens-file", Flag: "tokens-file", Usage: "static token file (token,user,uid,\"group1,group2\" per line) for users besides the admin", Default: ""},
		{Key: "server.max-request-bytes", Flag: "max-request-bytes", Usage: "largest request body accepted", Default: DefaultMaxRequestBytes},
		{Key: "server.tls-san", Flag: "tls-san", Usage: "extra host names or IPs in the serving certificate", Default: []string{}},
		ServiceCIDROption(),
		ClusterCIDROption(),
		{Key: "server.service-node-port-range", Flag: "service-node-port-range", Usage: "range of Service node ports, first-last", Default: DefaultNodePortRange},
		{Key: "server.etcd.endpoints", Flag: "etcd-endpoints", Usage: "external etcd cluster endpoints (default: etcd embedded, in <data-dir>/etcd)", Default: []string{}},
		{Key: "server.etcd.cafile", Flag: "etcd-cafile", Usage: "CA file to verify the external etcd cluster", Default: ""},
		{Key: "server.etcd.certfile", Flag: "etcd-certfile", Usage: "client certificate for the external etcd cluster", Default: ""},
		{Key: "server.etcd.keyfile", Flag: "etcd-keyfile", Usage: "client key for the external etcd cluster", Default: ""},
		{Key: "server.etcd.compaction-interval", Flag: "etcd-compaction-interval", Usage: "how often etcd history is compacted (0 turns it off)", Default: 5 * time.Minute},
		{Key: "server.etcd.compaction-retention", Flag: "etcd-compaction-retention", Usage: "how much etcd history a compaction keeps", Default: 5 * time.Minute},
	}
}

// Validate reports every invalid server setting.
func (s Server) Validate() error {
	var errs []error
	if net.ParseIP(s.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("server.bind-address: want an IP address, got %q", s.BindAddress))
	}
	if s.Port < 0 || s.Port > 65535 {
		errs = append(errs, fmt.Errorf("server.port: want 0 (any free port) to 65535, got %d", s.Port))
	}
	if s.MaxRequestBytes <= 0 {
		errs = append(errs, fmt.Errorf("server.max-request-bytes: want a positive size, got %d", s.MaxRequestBytes))
	}
	for _, san := range s.TLSSANs {
		if san == "" {
			errs = append(errs, errors.New("server.tls-san: empty name"))
		}
	}
	errs = append(errs, validateServiceCIDR(s.ServiceCIDR), validateClusterCIDR(s.ClusterCIDR, s.ServiceCIDR), validateNodePortRange(s.NodePortRange))
	errs = append(errs, s.Etcd.Validate())
	return errors.Join(errs...)
}

// validateServiceCIDR accepts an IPv4 CIDR of 8 (a /29) to 2^24 (a /8)
// addresses, as the API server's allocator does.
func validateServiceCIDR(s string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Bits() > 29 || p.Bits() < 8 {
		return fmt.Errorf("server.service-cidr: want an IPv4 CIDR from /8 to /29, got %q", s)
	}
	return nil
}

// validateClusterCIDR accepts an IPv4 CIDR from /8 (2^16 nodes) to /24
// (one node), split into NodeCIDRMaskSize subnets, that does not overlap
// the Service CIDR.
func validateClusterCIDR(s, serviceCIDR string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Bits() < 8 || p.Bits() > NodeCIDRMaskSize {
		return fmt.Errorf("server.cluster-cidr: want an IPv4 CIDR from /8 to /%d (one /%d per node), got %q", NodeCIDRMaskSize, NodeCIDRMaskSize, s)
	}
	if svc, err := netip.ParsePrefix(serviceCIDR); err == nil && svc.Overlaps(p) {
		return fmt.Errorf("server.cluster-cidr: %s overlaps the Service CIDR %s", s, serviceCIDR)
	}
	return nil
}

// validateNodePortRange accepts "first-last" with 1 <= first <= last <= 65535.
func validateNodePortRange(s string) error {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
	b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
	if !ok || err1 != nil || err2 != nil || a == 0 || b < a {
		return fmt.Errorf("server.service-node-port-range: want first-last within 1-65535, got %q", s)
	}
	return nil
}

// Validate reports invalid endpoints, half a client key pair, and
// negative durations.
func (e Etcd) Validate() error {
	var errs []error
	for _, ep := range e.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("server.etcd.endpoints: want http(s)://host:port, got %q", ep))
		}
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		errs = append(errs, errors.New("server.etcd.certfile and server.etcd.keyfile: set both or neither"))
	}
	if len(e.Endpoints) == 0 && (e.CAFile != "" || e.CertFile != "") {
		errs = append(errs, errors.New("server.etcd: TLS files need server.etcd.endpoints (embedded etcd takes none)"))
	}
	if e.CompactionInterval < 0 {
		errs = append(errs, fmt.Errorf("server.etcd.compaction-interval: want 0 or more, got %s", e.CompactionInterval))
	}
	if e.CompactionRetention <= 0 {
		errs = append(errs, fmt.Errorf("server.etcd.compaction-retention: want a positive duration, got %s", e.CompactionRetention))
	}
	return errors.Join(errs...)
}
