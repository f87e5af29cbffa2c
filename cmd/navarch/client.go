package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	utilcomp "k8s.io/kubectl/pkg/util/completion"

	"github.com/navarch/navarch/config"
)

// kubeClient is what navarch's kubectl-shaped verbs share: kubectl's own
// client flags (--kubeconfig, --namespace, --context …) and the factory
// kubectl's commands build their clients from. The verbs are kubectl's
// commands themselves, so they behave exactly as kubectl does.
type kubeClient struct {
	streams genericiooptions.IOStreams
	flags   *genericclioptions.ConfigFlags
	factory cmdutil.Factory
}

func newKubeClient(streams genericiooptions.IOStreams) *kubeClient {
	flags := genericclioptions.NewConfigFlags(true).
		WithDiscoveryBurst(300).
		WithDiscoveryQPS(50).
		WithWarningPrinter(streams)
	f := cmdutil.NewFactory(cmdutil.NewMatchVersionFlags(flags))
	utilcomp.SetFactoryForCompletion(f)
	return &kubeClient{streams: streams, flags: flags, factory: f}
}

// attach gives cmd (one of kubectl's commands) the client flags, and
// resolves the kubeconfig before cmd or any of its subcommands runs.
func (k *kubeClient) attach(cmd *cobra.Command) *cobra.Command {
	k.flags.AddFlags(cmd.PersistentFlags())
	cmd.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return k.prepare(cmd, true)
	}
	return cmd
}

// prepare points the client at the kubeconfig to use and sends the
// server's warnings to standard error. When the data dir's kubeconfig is
// the one to use and it does not exist, strict fails with a hint; otherwise
// the hint is a warning and kubectl's own defaults apply.
func (k *kubeClient) prepare(cmd *cobra.Command, strict bool) error {
	rest.SetDefaultWarningHandler(rest.NewWarningWriter(k.streams.ErrOut, rest.WarningWriterOptions{Deduplicate: true}))
	dataDirKubeconfig := ""
	if *k.flags.KubeConfig == "" && os.Getenv("KUBECONFIG") == "" {
		cfg, err := config.Load(cmd.Flags())
		if err != nil {
			return err
		}
		dataDirKubeconfig = cfg.KubeconfigPath()
		if _, err := os.Stat(dataDirKubeconfig); errors.Is(err, fs.ErrNotExist) {
			err := fmt.Errorf("no kubeconfig at %s: start a server with \"navarch up\" or \"navarch server\", or give --kubeconfig or KUBECONFIG", dataDirKubeconfig)
			if strict {
				return err
			}
			fmt.Fprintf(k.streams.ErrOut, "navarch: warning: %v\n", err)
			return nil
		}
	}
	*k.flags.KubeConfig = kubeconfigPath(*k.flags.KubeConfig, os.Getenv("KUBECONFIG"), dataDirKubeconfig)
	return nil
}

// kubeconfigPath chooses the kubeconfig a client uses: the --kubeconfig
// flag, else "" so that client-go reads $KUBECONFIG (which may list
// several files), else the one in the data dir.
func kubeconfigPath(flag, env, dataDir string) string {
	switch {
	case flag != "":
		return flag
	case env != "":
		return ""
	default:
		return dataDir
	}
}
