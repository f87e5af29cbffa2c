package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/navarch/navarch/config"
	"github.com/navarch/navarch/kubelet"
	ctrd "github.com/navarch/navarch/kubelet/containerd"
	"github.com/navarch/navarch/kubelet/network"
)

// newImageCommand is `navarch image`: the images of this node's containerd.
func newImageCommand(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Import and list the images of this node",
		Long: `Work with the images of this node's containerd: the one at
--containerd-address, else the agent's own under <data-dir>/containerd
(navarch up or navarch agent must be running).`,
	}
	importCmd := &cobra.Command{
		Use:   "import FILE.tar...",
		Short: "Load image archives (OCI layout or docker save) into the node",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withImageRuntime(cmd, func(ctx context.Context, rt kubelet.Runtime) error {
				for _, path := range args {
					f, err := os.Open(path)
					if err != nil {
						return err
					}
					imgs, err := rt.ImportImage(ctx, f)
					f.Close()
					if err != nil {
						return fmt.Errorf("import %s: %w", path, err)
					}
					for _, img := range imgs {
						fmt.Fprintf(streams.Out, "imported %s (%s)\n", img.Ref, shortID(img.ID))
					}
				}
				return nil
			})
		},
	}
	lsCmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the node's images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withImageRuntime(cmd, func(ctx context.Context, rt kubelet.Runtime) error {
				imgs, err := rt.ListImages(ctx)
				if err != nil {
					return err
				}
				slices.SortFunc(imgs, func(a, b kubelet.Image) int { return strings.Compare(a.Ref, b.Ref) })
				tw := tabwriter.NewWriter(streams.Out, 0, 4, 3, ' ', 0)
				fmt.Fprintln(tw, "IMAGE\tID\tSIZE")
				for _, img := range imgs {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", img.Ref, shortID(img.ID), humanSize(img.Size))
				}
				return tw.Flush()
			})
		},
	}
	for _, c := range []*cobra.Command{importCmd, lsCmd} {
		config.AddFlags(c.Flags(), containerdAddressOption())
		cmd.AddCommand(c)
	}
	return cmd
}

func containerdAddressOption() config.Option {
	for _, o := range config.AgentOptions() {
		if o.Flag == "containerd-address" {
			return o
		}
	}
	panic("config: no containerd-address option")
}

// withImageRuntime connects to the node's containerd and runs f. Images
// need no pod network; the runtime gets one it never sets up.
func withImageRuntime(cmd *cobra.Command, f func(context.Context, kubelet.Runtime) error) error {
	cfg, err := config.Load(cmd.Flags())
	if err != nil {
		return err
	}
	address := cfg.Agent.ContainerdAddress
	if address == "" {
		address = ctrd.DaemonAddress(filepath.Join(cfg.DataDir, containerdDir))
		if _, err := os.Stat(address); err != nil {
			return fmt.Errorf("no containerd at %s: start navarch up or navarch agent, or give --containerd-address", address)
		}
	}
	netm, err := network.New(network.Options{PodCIDR: "10.255.255.0/24", DataDir: filepath.Join(cfg.DataDir, networkDir)})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Minute)
	defer cancel()
	rt, err := ctrd.New(ctx, ctrd.Options{Address: address, StateDir: filepath.Join(cfg.DataDir, runtimeDir), Network: netm})
	if err != nil {
		return err
	}
	defer rt.Close()
	return f(ctx, rt)
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}

// humanSize writes a size in bytes with a binary unit: 2.9MiB.
func humanSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f, i = f/1024, i+1
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.1f%s", f, units[i])
}
