package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

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

// serverURL is the server's URL for other machines: its admin
// kubeconfig's, with this host's name in place of a loopback address.
func serverURL(cfg *config.Config) string {
	port := strconv.Itoa(cfg.Server.Port)
	if kc, err := clientcmd.LoadFromFile(cfg.KubeconfigPath()); err == nil {
		for _, c := range kc.Clusters {
			u, err := url.Parse(c.Server)
			if err != nil || u.Host == "" {
				continue
			}
			if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
				return c.Server
			}
			port = u.Port()
		}
	}
	host, err := os.Hostname()
	if err != nil {
		host = "SERVER"
	}
	return "https://" + net.JoinHostPort(host, port)
}
