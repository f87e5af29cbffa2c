package main

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"
)

// newKubectlCommand is `navarch kubectl …`: the whole of kubectl, built in,
// for the verbs navarch does not list itself (edit, patch, rollout, wait …).
// It reads its own flags; without --kubeconfig or KUBECONFIG it uses the
// kubeconfig of the data dir named by NAVARCH_DATA_DIR or the config file.
func newKubectlCommand(k *kubeClient) *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl [flags] COMMAND",
		Short:              "Run kubectl, built in",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			flags := genericclioptions.NewConfigFlags(true).
				WithDiscoveryBurst(300).
				WithDiscoveryQPS(50).
				WithWarningPrinter(k.streams)
			kubectl := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
				PluginHandler: kubectlcmd.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes),
				Arguments:     append([]string{"kubectl"}, args...),
				ConfigFlags:   flags,
				IOStreams:     k.streams,
			})
			client := &kubeClient{streams: k.streams, flags: flags}
			inner := kubectl.PersistentPreRunE
			kubectl.PersistentPreRunE = func(c *cobra.Command, a []string) error {
				if err := client.prepare(c, false); err != nil {
					return err
				}
				return inner(c, a)
			}
			kubectl.SilenceErrors, kubectl.SilenceUsage = true, true // navarch prints the error once
			kubectl.SetArgs(args)
			return kubectl.ExecuteContext(cmd.Context())
		},
	}
}
