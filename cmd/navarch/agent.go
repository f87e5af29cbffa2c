package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/navarch/navarch/apiserver"
	"github.com/navarch/navarch/apiserver/auth"
	"github.com/navarch/navarch/config"
	"github.com/navarch/navarch/kubelet"
	ctrd "github.com/navarch/navarch/kubelet/containerd"
	"github.com/navarch/navarch/kubelet/network"
)

// Folders of a node under the data dir.
const (
	containerdDir = "containerd" // the private containerd's root, state and socket
	kubeletDir    = "kubelet"    // pods' volumes and container logs
	runtimeDir    = "runtime"    // the containerd runtime's per-sandbox files
	networkDir    = "network"    // CNI cache, IP allocations, pinned namespaces
)

// newAgentCommand is `navarch agent`: this machine's node, joined to a
// server.
func newAgentCommand(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent {--server URL --token TOKEN | --cleanup}",
		Short: "Run this machine as a node of a navarch server",
		Long: `Run this machine as a node: the kubelet registers the Node, renews its
Lease, and runs the pods the scheduler binds to it on containerd, with one
IP per pod from the node's pod CIDR on the bridge --bridge.

The token is a node token: "navarch token create --node NAME" on the server
prints one. The server's CA is read from --ca-file (a copy of the server's
<data-dir>/pki/ca.crt), or from this data dir's pki/ca.crt.

Without --containerd-address the agent runs its own containerd, with its
state under <data-dir>/containerd, and stops it on exit (containers keep
running; the next start adopts them). SIGINT or SIGTERM stops the agent.

The Service proxy beside the kubelet makes --service-cidr (which must be
the server's) a local route and programs the nftables table --proxy-table
(family ip) so that cluster IPs and NodePorts reach the Services' ready
pods; it masquerades connections that do not come from the pod network
--cluster-cidr (also the server's). Its rules stay when the agent stops, so
that traffic keeps flowing across a restart.

navarch agent --cleanup removes what the proxy made on this machine — the
nftables table --proxy-table and the local route of --service-cidr — and
exits; give it the same --proxy-table and --service-cidr as the agent. It
leaves pods, containers, the bridge and the data dir alone (navarch reset
removes those too, once the agent has stopped). It needs no server or
token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := loadConfig(cmd, streams)
			if err != nil {
				return err
			}
			if cleanup, _ := cmd.Flags().GetBool("cleanup"); cleanup {
				return cleanupProxy(cmd.Context(), cfg, streams.Out)
			}
			if cfg.Agent.Server == "" || cfg.Agent.Token == "" {
				return errors.New(`navarch agent needs --server and --token (run "navarch token create --node NAME" on the server)`)
			}
			ca, err := serverCA(cfg)
			if err != nil {
				return err
			}
			restCfg := &rest.Config{
				Host: cfg.Agent.Server, BearerToken: cfg.Agent.Token,
				TLSClientConfig: rest.TLSClientConfig{CAData: ca},
			}
			return runComponents(cmd.Context(), logger, nodeComponents(cfg, logger, restCfg, ca)...)
		},
	}
	config.AddFlags(cmd.Flags(), config.AgentJoinOptions()...)
	config.AddFlags(cmd.Flags(), config.AgentOptions()...)
	config.AddFlags(cmd.Flags(), config.ServiceCIDROption(), config.ClusterCIDROption())
	config.AddFlags(cmd.Flags(), config.ProxyOptions()...)
	cmd.Flags().Bool("cleanup", false, "remove the Service proxy's nftables table (--proxy-table) and the local route of --service-cidr, then exit")
	return cmd
}

// serverCA reads the API server's CA: --ca-file, else the data dir's.
func serverCA(cfg *config.Config) ([]byte, error) {
	path := cfg.Agent.CAFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, "pki", "ca.crt")
	}
	ca, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && cfg.Agent.CAFile == "" {
		return nil, fmt.Errorf("no CA at %s: give --ca-file, a copy of the server's <data-dir>/pki/ca.crt", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read the server's CA: %w", err)
	}
	return ca, nil
}

// nodeComponents are what runs on a node: the kubelet, and the Service
// proxy beside it (unless --disable-proxy), with the same client
// configuration.
func nodeComponents(cfg *config.Config, logger *slog.Logger, restCfg *rest.Config, ca []byte) []component {
	comps := []component{
		kubeletComponent(cfg, logger, restCfg, ca),
	}
	if !cfg.Proxy.Disable {
		comps = append(comps, proxyComponent(cfg, logger, restCfg))
	}
	return comps
}

// nodeName is the configured node name, else the host name in lower case.
func nodeName(cfg *config.Config) (string, error) {
	if cfg.Agent.NodeName != "" {
		return cfg.Agent.NodeName, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("node name: %w (give --node-name)", err)
	}
	return strings.ToLower(host), nil
}

// kubeletComponent runs the kubelet on containerd: the configured socket,
// or a private containerd it supervises and stops on exit. The pod
// network is wired once the node has its pod CIDR.
func kubeletComponent(cfg *config.Config, logger *slog.Logger, restCfg *rest.Config, ca []byte) component {
	return component{name: "kubelet", run: func(ctx context.Context) error {
		name, err := nodeName(cfg)
		if err != nil {
			return err
		}
		log := logger.With("component", "kubelet")
		unlock, err := lockDataDir(cfg.DataDir, nodeLock)
		if err != nil {
			return fmt.Errorf("a navarch node already runs on %s: %w", cfg.DataDir, err)
		}
		defer unlock()
		address := cfg.Agent.ContainerdAddress
		if address == "" {
			sup, err := ctrd.Supervise(ctx, ctrd.DaemonOptions{
				Dir: filepath.Join(cfg.DataDir, containerdDir), Logger: logger.With("component", "containerd"),
			})
			if err != nil {
				return fmt.Errorf("start containerd: %w", err)
			}
			defer sup.Stop()
			address = sup.Address()
		}
		rc := rest.CopyConfig(restCfg)
		rc.QPS, rc.Burst, rc.UserAgent = 50, 100, "navarch-kubelet/"+name
		client, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return err
		}
		k, err := kubelet.New(kubelet.Options{
			NodeName: name, Client: client, DataDir: filepath.Join(cfg.DataDir, kubeletDir),
			NodeIP: cfg.Agent.NodeIP, Port: cfg.Agent.KubeletPort, ClientCA: ca,
			ReadOnlyPort: cfg.Agent.ReadOnlyPort, Logger: log,
			NewRuntime: func(ctx context.Context, podCIDR string) (kubelet.Runtime, error) {
				return newContainerdRuntime(ctx, cfg, address, podCIDR, log)
			},
		})
		if err != nil {
			return err
		}
		return k.Run(ctx)
	}}
}

// newContainerdRuntime wires the node's pod network for podCIDR and
// connects to containerd at address.
func newContainerdRuntime(ctx context.Context, cfg *config.Config, address, podCIDR string, log *slog.Logger) (kubelet.Runtime, error) {
	netm, err := network.New(network.Options{
		PodCIDR: podCIDR, BridgeName: cfg.Agent.Bridge, DataDir: filepath.Join(cfg.DataDir, networkDir),
	})
	if err != nil {
		return nil, err
	}
	return ctrd.New(ctx, ctrd.Options{
		Address: address, StateDir: filepath.Join(cfg.DataDir, runtimeDir), Network: netm, Logger: log,
	})
}

// localNode runs this machine's node inside navarch up, joined to the
// in-process API server with a node token of its own.
func localNode(cfg *config.Config, logger *slog.Logger) func(context.Context, *apiserver.Server) error {
	return func(ctx context.Context, srv *apiserver.Server) error {
		name, err := nodeName(cfg)
		if err != nil {
			return err
		}
		tok, err := ensureNodeToken(cfg, name)
		if err != nil {
			return fmt.Errorf("node token: %w", err)
		}
		restCfg := &rest.Config{Host: srv.URL(), BearerToken: tok, TLSClientConfig: rest.TLSClientConfig{CAData: srv.CAPEM()}}
		return runComponents(ctx, logger, nodeComponents(cfg, logger, restCfg, srv.CAPEM())...)
	}
}

// nodeTokenFile keeps the token of navarch up's own node.
const nodeTokenFile = "node.token"

// ensureNodeToken returns the token of node kept in <data-dir>/node.token
// while the tokens file still holds it for that node, else a new one.
func ensureNodeToken(cfg *config.Config, node string) (string, error) {
	path := filepath.Join(cfg.DataDir, nodeTokenFile)
	if b, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(b))
		entries, err := auth.LoadTokenFile(tokensFile(cfg))
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			if e.Token == tok && e.User.Name == auth.NodeUserPrefix+node {
				return tok, nil
			}
		}
	}
	tok, err := auth.NewNodeToken(tokensFile(cfg), node)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}
