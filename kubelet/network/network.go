package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
)

// ErrPluginMissing: a CNI plugin binary the network needs is not installed.
var ErrPluginMissing = errors.New("cni plugin missing")

// RequiredPlugins returns the CNI plugins a Manager calls.
func RequiredPlugins() []string { return []string{"bridge", "host-local", "loopback", "portmap"} }

// DefaultPluginDirs returns where CNI plugins are searched when
// Options.PluginDirs is empty: Debian's package, then the upstream default.
func DefaultPluginDirs() []string { return []string{"/usr/lib/cni", "/opt/cni/bin"} }

// Options configure a node's pod network.
type Options struct {
	// PodCIDR is the node's pod subnet (spec.podCIDR), e.g. 10.244.1.0/24.
	PodCIDR string
	// BridgeName is the Linux bridge the pods attach to; default navarch0.
	// Two agents on one machine need different names (and CIDRs).
	BridgeName string
	// NetworkName names the CNI network; default "navarch".
	NetworkName string
	// DataDir holds the CNI result cache (cache/), host-local's address
	// allocations (ipam/) and pinned namespaces (netns/). Required.
	DataDir string
	// PluginDirs are searched for plugin binaries; default DefaultPluginDirs.
	PluginDirs []string
	// MTU of the pod interfaces; 0 lets the plugin choose.
	MTU int
	// IPMasq masquerades traffic leaving the pod CIDR. Off by default: pod
	// addresses are only routed on this machine.
	IPMasq bool
}

func (o *Options) defaults() {
	if o.BridgeName == "" {
		o.BridgeName = "navarch0"
	}
	if o.NetworkName == "" {
		o.NetworkName = "navarch"
	}
	if len(o.PluginDirs) == 0 {
		o.PluginDirs = DefaultPluginDirs()
	}
}

// Validate reports what is wrong with the options.
func (o Options) Validate() error {
	if _, _, err := net.ParseCIDR(o.PodCIDR); err != nil {
		return fmt.Errorf("pod CIDR %q: %w", o.PodCIDR, err)
	}
	return o.validatePaths()
}

// validatePaths checks what every Manager needs, a teardown-only one too.
func (o Options) validatePaths() error {
	if o.DataDir == "" || !filepath.IsAbs(o.DataDir) {
		return fmt.Errorf("network data dir %q must be an absolute path", o.DataDir)
	}
	if strings.Contains(o.DataDir, ",") {
		return fmt.Errorf("network data dir %q must not contain ',' (runc splits namespace paths on it)", o.DataDir)
	}
	if len(o.BridgeName) > 15 {
		return fmt.Errorf("bridge name %q is longer than 15 characters", o.BridgeName)
	}
	return nil
}

// PortMapping is one hostPort → containerPort mapping (portmap plugin).
type PortMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"` // tcp, udp, sctp
	HostIP        string `json:"hostIP,omitempty"`
}

// Manager wires pod network namespaces into the node's bridge network.
type Manager struct {
	opts     Options
	cni      *libcni.CNIConfig
	list     *libcni.NetworkConfigList // nil in a teardown-only Manager
	loopback *libcni.NetworkConfigList
}

// New checks the plugins are installed and prepares the network
// configuration (bridge + host-local + portmap, and loopback). It changes
// nothing on the machine; the bridge appears with the first pod.
func New(opts Options) (*Manager, error) {
	opts.defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	m, err := newManager(opts)
	if err != nil {
		return nil, err
	}
	if m.list, err = libcni.ConfListFromBytes(confList(opts)); err != nil {
		return nil, fmt.Errorf("network config: %w", err)
	}
	return m, nil
}

// NewTeardown returns a Manager that only tears pod networks down, for
// when the node's pod CIDR is unknown (navarch reset): Teardown uses the
// configuration each pod was set up with, which libcni cached under
// DataDir; Setup fails. opts.PodCIDR is ignored.
func NewTeardown(opts Options) (*Manager, error) {
	opts.defaults()
	opts.PodCIDR = ""
	if err := opts.validatePaths(); err != nil {
		return nil, err
	}
	return newManager(opts)
}

func newManager(opts Options) (*Manager, error) {
	for _, p := range RequiredPlugins() {
		if !findPlugin(opts.PluginDirs, p) {
			return nil, fmt.Errorf("%w: %s not in %s", ErrPluginMissing, p, strings.Join(opts.PluginDirs, ":"))
		}
	}
	for _, d := range []string{"cache", "ipam", "netns"} {
		if err := os.MkdirAll(filepath.Join(opts.DataDir, d), 0o700); err != nil {
			return nil, fmt.Errorf("network data dir: %w", err)
		}
	}
	lo, err := libcni.ConfListFromBytes([]byte(`{"cniVersion":"1.0.0","name":"` + opts.NetworkName + `-lo","plugins":[{"type":"loopback"}]}`))
	if err != nil {
		return nil, fmt.Errorf("loopback config: %w", err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(opts.PluginDirs, filepath.Join(opts.DataDir, "cache"), nil)
	return &Manager{opts: opts, cni: cni, loopback: lo}, nil
}

// NetNSDir is where pod network namespaces are pinned.
func (m *Manager) NetNSDir() string { return filepath.Join(m.opts.DataDir, "netns") }

// IPAMDir is where host-local records allocated addresses (one file per IP
// under IPAMDir/<network name>/).
func (m *Manager) IPAMDir() string { return filepath.Join(m.opts.DataDir, "ipam", m.opts.NetworkName) }

// Options returns the options in effect (defaults filled in).
func (m *Manager) Options() Options { return m.opts }

// Setup attaches the namespace at netnsPath to the pod network for podID:
// loopback up, a veth into the bridge, one IP from the pod CIDR and the
// given host ports. It returns the pod's IP. On error whatever was set up
// is torn down again.
func (m *Manager) Setup(ctx context.Context, podID, netnsPath string, ports []PortMapping) (net.IP, error) {
	if m.list == nil {
		return nil, fmt.Errorf("set up pod network for %s: this network manager only tears down", podID)
	}
	rt := m.runtimeConf(podID, netnsPath, ports)
	if _, err := m.cni.AddNetworkList(ctx, m.loopback, m.loRuntimeConf(podID, netnsPath)); err != nil {
		return nil, fmt.Errorf("set up loopback for %s: %w", podID, err)
	}
	res, err := m.cni.AddNetworkList(ctx, m.list, rt)
	if err != nil {
		m.Teardown(context.WithoutCancel(ctx), podID, netnsPath)
		return nil, fmt.Errorf("set up pod network for %s: %w", podID, err)
	}
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		m.Teardown(context.WithoutCancel(ctx), podID, netnsPath)
		return nil, fmt.Errorf("pod network result for %s: %w", podID, err)
	}
	for _, ip := range r.IPs {
		if ip.Address.IP.To4() != nil || len(r.IPs) == 1 {
			return ip.Address.IP, nil
		}
	}
	m.Teardown(context.WithoutCancel(ctx), podID, netnsPath)
	return nil, fmt.Errorf("pod network for %s: no IP in result", podID)
}

// Teardown detaches podID from the network and releases its IP and host
// ports, with the configuration the pod was set up with when libcni
// cached it (the pod CIDR may have changed since), else the current one.
// It is idempotent and works when the namespace is already gone.
func (m *Manager) Teardown(ctx context.Context, podID, netnsPath string) error {
	if _, err := os.Stat(netnsPath); err != nil {
		netnsPath = "" // CNI DEL without a namespace still releases the IP
	}
	rt := m.runtimeConf(podID, netnsPath, nil)
	list := m.list
	named := &libcni.NetworkConfigList{Name: m.opts.NetworkName}
	if conf, cached, err := m.cni.GetNetworkListCachedConfig(named, rt); err == nil && cached != nil {
		rt.CapabilityArgs = cached.CapabilityArgs
		if l, err := libcni.ConfListFromBytes(conf); err == nil {
			list = l
		}
	}
	var err error
	if list != nil {
		err = m.cni.DelNetworkList(ctx, list, rt)
	}
	if lerr := m.cni.DelNetworkList(ctx, m.loopback, m.loRuntimeConf(podID, netnsPath)); err == nil && lerr != nil && netnsPath != "" {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("tear down pod network for %s: %w", podID, err)
	}
	return nil
}

func (m *Manager) runtimeConf(podID, netnsPath string, ports []PortMapping) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: podID, NetNS: netnsPath, IfName: "eth0"}
	if len(ports) > 0 {
		pm := make([]map[string]any, 0, len(ports))
		for _, p := range ports {
			b, _ := json.Marshal(p)
			var v map[string]any
			json.Unmarshal(b, &v)
			pm = append(pm, v)
		}
		rt.CapabilityArgs = map[string]any{"portMappings": pm}
	}
	return rt
}

func (m *Manager) loRuntimeConf(podID, netnsPath string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: podID, NetNS: netnsPath, IfName: "lo"}
}

func confList(o Options) []byte {
	bridge := map[string]any{
		"type":        "bridge",
		"bridge":      o.BridgeName,
		"isGateway":   true,
		"ipMasq":      o.IPMasq,
		"hairpinMode": true,
		"ipam": map[string]any{
			"type":    "host-local",
			"ranges":  [][]map[string]string{{{"subnet": o.PodCIDR}}},
			"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
			"dataDir": filepath.Join(o.DataDir, "ipam"),
		},
	}
	if o.MTU > 0 {
		bridge["mtu"] = o.MTU
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       o.NetworkName,
		"plugins": []any{
			bridge,
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}, "snat": true},
		},
	}
	b, _ := json.Marshal(conf)
	return b
}

func findPlugin(dirs []string, name string) bool {
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(d, name)); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}
