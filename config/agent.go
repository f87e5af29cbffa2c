package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
)

// Agent configures a node agent: `navarch agent`, which joins a server,
// and this machine's node inside `navarch up`.
//
//	agent:
//	  server: https://10.0.0.1:6443   # --server (navarch agent)
//	  token: …                        # --token: a node token (navarch token create)
//	  ca-file: /etc/navarch/ca.crt    # --ca-file: the server's CA
//	  node-name: web-1                # --node-name (default: the host name)
//	  node-ip: 10.0.0.7               # --node-ip (default: the default route's address)
//	  containerd-address: ""          # --containerd-address (default: run containerd under <data-dir>/containerd)
//	  bridge: navarch0                # --bridge
//	  kubelet-port: 10250             # --kubelet-port (0 turns the kubelet API off)
//	  read-only-port: 10255           # --read-only-port (0 turns it off)
type Agent struct {
	// Server is the API server's URL (navarch agent only).
	Server string `mapstructure:"server"`
	// Token is the node's bearer token (navarch agent only).
	Token string `mapstructure:"token"`
	// CAFile is the server's CA certificate; "" means
	// <data-dir>/pki/ca.crt (an agent on the server's machine).
	CAFile string `mapstructure:"ca-file"`
	// NodeName is the Node's name; "" means the host name.
	NodeName string `mapstructure:"node-name"`
	// NodeIP is the node's InternalIP; "" means the address of the
	// interface holding the default route.
	NodeIP string `mapstructure:"node-ip"`
	// ContainerdAddress is a containerd socket to use; "" runs a private
	// containerd with its state under <data-dir>/containerd.
	ContainerdAddress string `mapstructure:"containerd-address"`
	// Bridge is the pods' Linux bridge; two agents on one machine need
	// different ones.
	Bridge string `mapstructure:"bridge"`
	// KubeletPort serves the kubelet API (container logs) over HTTPS on
	// all addresses; 0 turns it off.
	KubeletPort int `mapstructure:"kubelet-port"`
	// ReadOnlyPort serves /healthz, /spec, /pods and /metrics on
	// 127.0.0.1; 0 turns it off.
	ReadOnlyPort int `mapstructure:"read-only-port"`
}

// AgentOptions returns the node options `navarch agent` and `navarch up`
// both take.
func AgentOptions() []Option {
	return []Option{
		{Key: "agent.node-name", Flag: "node-name", Usage: "name of this node (default: the host name)", Default: ""},
		{Key: "agent.node-ip", Flag: "node-ip", Usage: "this node's InternalIP (default: the address of the default route's interface)", Default: ""},
		{Key: "agent.containerd-address", Flag: "containerd-address", Usage: "containerd socket to use (default: run containerd under <data-dir>/containerd)", Default: ""},
		{Key: "agent.bridge", Flag: "bridge", Usage: "Linux bridge of this node's pods", Default: "navarch0"},
		{Key: "agent.kubelet-port", Flag: "kubelet-port", Usage: "HTTPS port of the kubelet API, serving container logs (0 turns it off)", Default: 10250},
		{Key: "agent.read-only-port", Flag: "read-only-port", Usage: "port on 127.0.0.1 serving /healthz, /spec, /pods and /metrics (0 turns it off)", Default: 10255},
	}
}

// AgentJoinOptions returns the options with which `navarch agent` joins a
// server.
func AgentJoinOptions() []Option {
	return []Option{
		{Key: "agent.server", Flag: "server", Usage: "URL of the API server to join", Default: ""},
		{Key: "agent.token", Flag: "token", Usage: "node token (from navarch token create --node NAME)", Default: ""},
		{Key: "agent.ca-file", Flag: "ca-file", Usage: "CA certificate of the API server (default <data-dir>/pki/ca.crt)", Default: ""},
	}
}

// Validate reports every invalid agent setting. Whether server and token
// are set is checked by navarch agent, which needs them.
func (a Agent) Validate() error {
	var errs []error
	if a.Server != "" {
		if u, err := url.Parse(a.Server); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("agent.server: want https://host:port, got %q", a.Server))
		}
	}
	if a.NodeIP != "" && net.ParseIP(a.NodeIP) == nil {
		errs = append(errs, fmt.Errorf("agent.node-ip: want an IP address, got %q", a.NodeIP))
	}
	if a.ContainerdAddress != "" && !filepath.IsAbs(a.ContainerdAddress) {
		errs = append(errs, fmt.Errorf("agent.containerd-address: want an absolute socket path, got %q", a.ContainerdAddress))
	}
	if a.Bridge == "" || len(a.Bridge) > 15 {
		errs = append(errs, fmt.Errorf("agent.bridge: want a name of 1 to 15 characters, got %q", a.Bridge))
	}
	for _, p := range []struct {
		key  string
		port int
	}{{"agent.kubelet-port", a.KubeletPort}, {"agent.read-only-port", a.ReadOnlyPort}} {
		if p.port < 0 || p.port > 65535 {
			errs = append(errs, fmt.Errorf("%s: want 0 (off) to 65535, got %d", p.key, p.port))
		}
	}
	if a.KubeletPort != 0 && a.KubeletPort == a.ReadOnlyPort {
		errs = append(errs, errors.New("agent.kubelet-port and agent.read-only-port: must differ"))
	}
	return errors.Join(errs...)
}
