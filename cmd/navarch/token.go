package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/navarch/navarch/apiserver/auth"
	"github.com/navarch/navarch/config"
)

// defaultTokensFile is the tokens file of a data dir, used when
// server.tokens-file is not set.
const defaultTokensFile = "tokens.csv"

// tokensFile is the server's tokens file: server.tokens-file, else
// <data-dir>/tokens.csv.
func tokensFile(cfg *config.Config) string {
	if cfg.Server.TokensFile != "" {
		return cfg.Server.TokensFile
	}
	return filepath.Join(cfg.DataDir, defaultTokensFile)
}

// newTokenCommand is `navarch token`: node tokens for agents.
func newTokenCommand(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create node tokens for agents to join with",
	}
	var node string
	create := &cobra.Command{
		Use:   "create --node NAME",
		Short: "Create a token for node NAME and print it",
		Long: `Create a bearer token for the node NAME (user system:node:NAME, group
system:nodes), append it to the server's tokens file (server.tokens-file,
default <data-dir>/tokens.csv) and print it. A running server accepts it at
once. Run on the server's machine, with its data dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags())
			if err != nil {
				return err
			}
			if node == "" {
				return errors.New("--node is required")
			}
			tok, err := auth.NewNodeToken(tokensFile(cfg), node)
			if err != nil {
				return err
			}
			fmt.Fprintln(streams.Out, tok)
			fmt.Fprintf(streams.ErrOut, "Join the node with:\n  navarch agent --server %s --token %s --node-name %s --ca-file CA\nwhere CA is a copy of %s\n",
				serverURL(cfg), tok, node, filepath.Join(cfg.DataDir, "pki", "ca.crt"))
			return nil
		},
	}
	create.Flags().StringVar(&node, "node", "", "name of the node the token is for")
	config.AddFlags(create.Flags(), config.ServerOptions()...)
	cmd.AddCommand(create)
	return cmd
}

// serverURL is the server's URL as its admin kubeconfig names it, else
// https://<this host>:<port>.
func serverURL(cfg *config.Config) string {
	if kc, err := clientcmd.LoadFromFile(cfg.KubeconfigPath()); err == nil {
		for _, c := range kc.Clusters {
			if c.Server != "" && !strings.Contains(c.Server, "127.0.0.1") {
				return c.Server
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "https://SERVER:6443"
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("https://%s:%d", host, cfg.Server.Port)
}
