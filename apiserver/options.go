package apiserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/navarch/navarch/apiserver/alloc"
	"github.com/navarch/navarch/store"
)

// Defaults of Options.
const (
	// DefaultPort is the API server's usual HTTPS port; Options.Port 0
	// picks a free port instead (tests).
	DefaultPort = 6443
	// DefaultBindAddress keeps the API on the loopback interface.
	DefaultBindAddress = "127.0.0.1"
	// DefaultMaxRequestBytes bounds a request body, as Kubernetes' 3 MiB.
	DefaultMaxRequestBytes = 3 << 20
	// DefaultMinWatchTimeout is the shortest a watch without timeoutSeconds
	// runs; each such watch ends at a random time between it and twice it,
	// so that clients reconnect spread out.
	DefaultMinWatchTimeout = 30 * time.Minute
	// DefaultShutdownTimeout is how long a stopping server waits for
	// requests under way.
	DefaultShutdownTimeout = 10 * time.Second
)

// Options configures a Server.
type Options struct {
	// DataDir holds the server's PKI (DataDir/pki), the admin token and the
	// admin kubeconfig. Required.
	DataDir string
	// BindAddress is the address to listen on; empty means 127.0.0.1.
	BindAddress string
	// Port is the HTTPS port; 0 picks a free port (see Server.URL).
	Port int
	// TokensFile, when set, maps bearer tokens to users and groups (see
	// package auth).
	TokensFile string
	// MaxRequestBytes bounds request bodies; larger ones get 413. 0 means
	// DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// Store keeps the objects. Required; the caller closes it after the
	// server has stopped.
	Store *store.Store
	// Logger receives the server's messages and, at debug level, one
	// access-log line per request; nil means slog.Default().
	Logger *slog.Logger
	// ExtraSANs are further host names or IP addresses the serving
	// certificate is valid for (besides localhost, 127.0.0.1 and the bind
	// address).
	ExtraSANs []string
	// Metrics receives the request metrics and serves /metrics; nil creates
	// metrics on a registry of the server's own. Pass the same value as
	// store.Options.Metrics to see etcd latencies too.
	Metrics *Metrics
	// MinWatchTimeout: see DefaultMinWatchTimeout; 0 means that.
	MinWatchTimeout time.Duration
	// ServiceCIDR is the range Services' cluster IPs come from; empty
	// means DefaultServiceCIDR.
	ServiceCIDR string
	// NodePortRange is the inclusive range of node ports,
	// "<first>-<last>"; empty means DefaultNodePortRange.
	NodePortRange string
	// AllocationRepairInterval is how often Run reconciles the Service
	// allocation keys with the Services (it also does at start): keys
	// whose Service is gone are released, missing ones created. 0 means
	// DefaultAllocationRepairInterval; negative repairs at start only.
	AllocationRepairInterval time.Duration
	// ShutdownTimeout is how long Run waits, once its context ends, for
	// requests under way; then it closes the connections. 0 means
	// DefaultShutdownTimeout; negative closes them at once (tests).
	ShutdownTimeout time.Duration
	// Now is the clock used for timestamps; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.BindAddress == "" {
		o.BindAddress = DefaultBindAddress
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MinWatchTimeout == 0 {
		o.MinWatchTimeout = DefaultMinWatchTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.ServiceCIDR == "" {
		o.ServiceCIDR = DefaultServiceCIDR
	}
	if o.NodePortRange == "" {
		o.NodePortRange = DefaultNodePortRange
	}
	if o.AllocationRepairInterval == 0 {
		o.AllocationRepairInterval = DefaultAllocationRepairInterval
	}
	return o
}

// Validate reports what is missing or out of range in o (after defaults).
func (o Options) Validate() error {
	var errs []error
	if o.DataDir == "" {
		errs = append(errs, errors.New("data dir is required"))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("store is required"))
	}
	if o.Port < 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", o.Port))
	}
	if o.BindAddress != "" && net.ParseIP(o.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("bind address %q is not an IP address", o.BindAddress))
	}
	if o.MaxRequestBytes < 0 {
		errs = append(errs, fmt.Errorf("max request bytes %d is negative", o.MaxRequestBytes))
	}
	if err := (alloc.Options{ServiceCIDR: o.ServiceCIDR, NodePortRange: o.NodePortRange}).Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.MinWatchTimeout < 0 {
		errs = append(errs, fmt.Errorf("min watch timeout %s is negative", o.MinWatchTimeout))
	}
	return errors.Join(errs...)
}
