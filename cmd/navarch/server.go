package main

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/navarch/navarch/config"
)

// newServerCommand is `navarch server`: the control plane alone.
func newServerCommand(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: etcd (embedded or external) and the API server",
		Long: `Run the control plane: the API server over etcd, embedded in this process
by default (data in <data-dir>/etcd) or an external cluster with
--etcd-endpoints. Several servers on one etcd cluster serve the same state.

At start the server writes an admin kubeconfig to <data-dir>/kubeconfig.
SIGINT or SIGTERM stops it gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := loadConfig(cmd, streams)
			if err != nil {
				return err
			}
			return runComponents(cmd.Context(), logger, controlPlane(cfg, logger, streams.Out))
		},
	}
	config.AddFlags(cmd.Flags(), config.ServerOptions()...)
	config.AddFlags(cmd.Flags(), config.GitOpsOptions()...)
	config.AddFlags(cmd.Flags(), config.ControllerOptions()...)
	return cmd
}
