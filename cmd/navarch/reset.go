package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/navarch/navarch/config"
	"github.com/navarch/navarch/internal/lockfile"
	"github.com/navarch/navarch/kubelet"
	ctrd "github.com/navarch/navarch/kubelet/containerd"
	"github.com/navarch/navarch/kubelet/network"
	"github.com/navarch/navarch/proxy"
)

// newResetCommand is `navarch reset`: what kubeadm reset and k3s's
// killall script do, for one data dir.
func newResetCommand(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Remove the pods, pod network and Service rules navarch left on this machine",
		Long: `Remove what a stopped navarch up or navarch agent leaves running on this
machine, which it keeps so that a restart finds its pods again: every pod's
containers (killed and deleted with their file systems), their network
namespaces and addresses, the bridge --bridge, volumes still mounted under
<data-dir>, the Service proxy's nftables table --proxy-table and the local
route of --service-cidr. Give it the flags the node ran with.

navarch reset refuses while a navarch server, up or agent runs on the data
dir. The objects in the cluster (etcd) and the images stay, unless
--remove-data: then the data dir goes too, and the next navarch up starts
from nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := loadConfig(cmd, streams)
			if err != nil {
				return err
			}
			removeData, _ := cmd.Flags().GetBool("remove-data")
			return reset(cmd.Context(), cfg, logger, streams.Out, removeData)
		},
	}
	config.AddFlags(cmd.Flags(), containerdAddressOption())
	config.AddFlags(cmd.Flags(), bridgeOption(), config.ServiceCIDROption())
	config.AddFlags(cmd.Flags(), proxyTableOption())
	cmd.Flags().Bool("remove-data", false, "remove the data dir as well: the cluster's objects, images, certificates and tokens")
	return cmd
}

// bridgeOption and proxyTableOption are the agent's options of those names.
func bridgeOption() config.Option     { return optionByFlag(config.AgentOptions(), "bridge") }
func proxyTableOption() config.Option { return optionByFlag(config.ProxyOptions(), "proxy-table") }

func optionByFlag(opts []config.Option, flag string) config.Option {
	i := slices.IndexFunc(opts, func(o config.Option) bool { return o.Flag == flag })
	return opts[i]
}

// reset removes the node's leftovers, then with removeData the data dir;
// it goes on past a failed step and reports every failure.
func reset(ctx context.Context, cfg *config.Config, logger *slog.Logger, out io.Writer, removeData bool) error {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(dataDir)
	haveData := statErr == nil
	if haveData {
		// Held until reset ends, so that no navarch starts meanwhile.
		for _, name := range []string{serverLock, nodeLock} {
			unlock, err := lockDataDir(dataDir, name)
			if err != nil {
				if errors.Is(err, lockfile.ErrLocked) {
					return fmt.Errorf("navarch is running on %s (%w): stop it first", dataDir, err)
				}
				return err
			}
			defer unlock()
		}
	}
	var errs []error
	if haveData || cfg.Agent.ContainerdAddress != "" {
		pods, err := removePods(ctx, cfg, dataDir, logger)
		if err != nil {
			errs = append(errs, err)
		}
		fmt.Fprintf(out, "removed %d pods\n", pods)
	}
	if err := deleteBridge(ctx, cfg.Agent.Bridge); err != nil {
		errs = append(errs, err)
	} else {
		fmt.Fprintf(out, "bridge %s is gone\n", cfg.Agent.Bridge)
	}
	if err := proxy.Cleanup(ctx, cfg.Proxy.Table, cfg.Server.ServiceCIDR); err != nil {
		errs = append(errs, fmt.Errorf("service proxy: %w", err))
	} else {
		fmt.Fprintf(out, "nftables table ip %s and the local route of %s are gone\n", cfg.Proxy.Table, cfg.Server.ServiceCIDR)
	}
	if haveData {
		n, err := unmountUnder(dataDir)
		if err != nil {
			errs = append(errs, err)
		}
		if n > 0 {
			fmt.Fprintf(out, "unmounted %d file systems under %s\n", n, dataDir)
		}
	}
	if err := errors.Join(errs...); err != nil {
		if removeData {
			return fmt.Errorf("%w\nthe data dir %s stays: run navarch reset again once the above is fixed", err, dataDir)
		}
		return err
	}
	if removeData && haveData {
		if err := os.RemoveAll(dataDir); err != nil {
			return fmt.Errorf("remove the data dir: %w", err)
		}
		fmt.Fprintf(out, "removed %s\n", dataDir)
	}
	return nil
}

// removePods kills and deletes every pod sandbox and container of the
// node's containerd (its own under the data dir, started for the
// purpose, unless --containerd-address), tearing down their networks, and
// removes network namespaces that no sandbox records. It returns how many
// sandboxes it removed.
func removePods(ctx context.Context, cfg *config.Config, dataDir string, logger *slog.Logger) (int, error) {
	address := cfg.Agent.ContainerdAddress
	if address == "" {
		dir := filepath.Join(dataDir, containerdDir)
		if _, err := os.Stat(filepath.Join(dir, "root")); errors.Is(err, fs.ErrNotExist) {
			return 0, nil // no node ever ran on this data dir
		}
		d, err := ctrd.StartDaemon(ctx, ctrd.DaemonOptions{Dir: dir, Logger: logger.With("component", "containerd")})
		if err != nil {
			return 0, fmt.Errorf("start containerd: %w", err)
		}
		defer d.Stop()
		address = d.Address()
	}
	netm, err := network.NewTeardown(network.Options{BridgeName: cfg.Agent.Bridge, DataDir: filepath.Join(dataDir, networkDir)})
	if err != nil {
		return 0, err
	}
	rt, err := ctrd.New(ctx, ctrd.Options{Address: address, StateDir: filepath.Join(dataDir, runtimeDir), Network: netm, Logger: logger})
	if err != nil {
		return 0, err
	}
	defer rt.Close()
	sandboxes, err := rt.ListPodSandboxes(ctx, kubelet.SandboxFilter{})
	if err != nil {
		return 0, fmt.Errorf("list pods: %w", err)
	}
	var errs []error
	removed := 0
	for _, sb := range sandboxes {
		if err := rt.RemovePodSandbox(ctx, sb.ID); err != nil {
			errs = append(errs, fmt.Errorf("pod %s/%s: %w", sb.Config.Namespace, sb.Config.Name, err))
			continue
		}
		removed++
	}
	// Containers whose sandbox record is gone.
	ctrs, err := rt.ListContainers(ctx, kubelet.ContainerFilter{})
	if err != nil {
		errs = append(errs, fmt.Errorf("list containers: %w", err))
	}
	for _, c := range ctrs { // RemoveContainer kills it first
		if err := rt.RemoveContainer(ctx, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", c.ID, err))
		}
	}
	// Namespaces made for a sandbox that was never recorded (a node
	// stopped in between).
	entries, err := os.ReadDir(netm.NetNSDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range entries {
		path := filepath.Join(netm.NetNSDir(), e.Name())
		if err := netm.Teardown(ctx, e.Name(), path); err != nil {
			errs = append(errs, err)
		}
		if err := network.RemoveNetNS(path); err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// deleteBridge deletes the Linux bridge name if it exists. A bridge that
// still has interfaces attached once this node's pods are gone serves
// pods of another node (another data dir given the same --bridge): it is
// left in place, with an error saying so.
func deleteBridge(ctx context.Context, name string) error {
	if _, err := net.InterfaceByName(name); err != nil {
		return nil
	}
	if ports, _ := os.ReadDir(filepath.Join("/sys/class/net", name, "brif")); len(ports) > 0 {
		return fmt.Errorf("bridge %s still has %d interfaces attached, of pods this data dir does not know (another navarch node with --bridge %s?): left in place", name, len(ports), name)
	}
	if out, err := exec.CommandContext(ctx, "ip", "link", "delete", name).CombinedOutput(); err != nil {
		return fmt.Errorf("delete bridge %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// unmountUnder detaches every mount below dir (pods' memory volumes and
// namespaces left by a node that was killed), deepest first, and returns
// how many there were.
func unmountUnder(dir string) (int, error) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return 0, fmt.Errorf("read mounts: %w", err)
	}
	var points []string
	for _, m := range mounts {
		if m.Mountpoint != dir {
			points = append(points, m.Mountpoint)
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return len(points), errors.Join(errs...)
}
