package main

import (
	"log/slog"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/navarch/navarch/config"
)

// newUpCommand is `navarch up`: everything navarch runs, in one process on
// this machine.
func newUpCommand(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything on this machine: the control plane and what joins it",
		Long: `Run navarch on this machine in one process: embedded etcd and the API
server, and the parts that join them as they are added (this machine's node,
scheduler, controllers, the GitOps reconciler).

At start it writes an admin kubeconfig to <data-dir>/kubeconfig.
SIGINT or SIGTERM stops everything gracefully.

This machine's node runs the kubelet and the Service proxy, which makes
--service-cidr a local route and programs the nftables table --proxy-table;
its rules stay after navarch up stops, until "navarch agent --cleanup" (with
the same --proxy-table and --service-cidr) removes them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := loadConfig(cmd, streams)
			if err != nil {
				return err
			}
			return runComponents(cmd.Context(), logger, upComponents(cfg, logger, streams)...)
		},
	}
	config.AddFlags(cmd.Flags(), config.ServerOptions()...)
	config.AddFlags(cmd.Flags(), config.GitOpsOptions()...)
	config.AddFlags(cmd.Flags(), config.ControllerOptions()...)
	config.AddFlags(cmd.Flags(), config.AgentOptions()...)
	config.AddFlags(cmd.Flags(), config.ProxyOptions()...)
	return cmd
}

// upComponents lists what `navarch up` runs. Each part that joins the
// control plane appends itself here and its options in config.
func upComponents(cfg *config.Config, logger *slog.Logger, streams genericiooptions.IOStreams) []component {
	return []component{
		controlPlane(cfg, logger, streams.Out, localNode(cfg, logger)),
	}
}
