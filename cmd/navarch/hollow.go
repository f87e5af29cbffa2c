package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/navarch/navarch/config"
	"github.com/navarch/navarch/kubelet/hollow"
)

// newHollowNodesCommand is `navarch hollow-nodes`: many simulated nodes in
// one process, for scale tests.
func newHollowNodesCommand(streams genericiooptions.IOStreams) *cobra.Command {
	var (
		count      int
		startDelay time.Duration
		prefix     string
		kubeconfig string
	)
	cmd := &cobra.Command{
		Use:   "hollow-nodes --count N",
		Short: "Run N simulated nodes in this process, for scale tests",
		Long: `Run N hollow nodes: kubelets on an in-memory runtime, each with its own
Node (labelled navarch.dev/hollow=true), Lease and pods, which turn Running
and Ready at once or after --start-delay. No container runs. It is a tool
for scale tests and benchmarks.

They connect as an admin: with --server, --token and --ca-file, else with
--kubeconfig, $KUBECONFIG or <data-dir>/kubeconfig.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := loadConfig(cmd, streams)
			if err != nil {
				return err
			}
			restCfg, err := adminConfig(cfg, kubeconfig)
			if err != nil {
				return err
			}
			restCfg.QPS, restCfg.Burst, restCfg.UserAgent = 5000, 10000, "navarch-hollow-nodes"
			client, err := kubernetes.NewForConfig(restCfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(streams.ErrOut, "running %d hollow nodes against %s\n", count, restCfg.Host)
			return hollow.Run(cmd.Context(), hollow.Options{
				Count: count, NamePrefix: prefix, Client: client, StartDelay: startDelay, Logger: logger,
			})
		},
	}
	cmd.Flags().IntVar(&count, "count", 10, "number of hollow nodes")
	cmd.Flags().DurationVar(&startDelay, "start-delay", 0, "how long a container stays created before it runs")
	cmd.Flags().StringVar(&prefix, "name-prefix", "hollow-node-", "prefix of the nodes' names")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "admin kubeconfig (default $KUBECONFIG or <data-dir>/kubeconfig)")
	config.AddFlags(cmd.Flags(), config.AgentJoinOptions()...)
	return cmd
}

// adminConfig is the client configuration of --server/--token/--ca-file,
// else of the kubeconfig.
func adminConfig(cfg *config.Config, kubeconfig string) (*rest.Config, error) {
	if cfg.Agent.Server != "" {
		ca, err := serverCA(cfg)
		if err != nil {
			return nil, err
		}
		return &rest.Config{Host: cfg.Agent.Server, BearerToken: cfg.Agent.Token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	switch {
	case kubeconfig != "":
		rules.ExplicitPath = kubeconfig
	case os.Getenv("KUBECONFIG") == "":
		rules.ExplicitPath = cfg.KubeconfigPath()
		if _, err := os.Stat(rules.ExplicitPath); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no kubeconfig at %s: give --server and --token, or --kubeconfig", rules.ExplicitPath)
		}
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
}
