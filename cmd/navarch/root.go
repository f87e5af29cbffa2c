package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/navarch/navarch/config"
)

// execute runs the command line args and returns the process's exit code.
// The first SIGINT or SIGTERM cancels the running command's context (a
// server then stops gracefully); a second one ends the process at once.
func execute(args []string, in io.Reader, out, errOut io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore the default: a second signal kills
	}()
	root := newRootCommand(genericiooptions.IOStreams{In: in, Out: out, ErrOut: errOut})
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(errOut, "navarch: %v\n", err)
		return 1
	}
	return 0
}

// newRootCommand builds the navarch command tree.
func newRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "navarch",
		Short: "A declarative GitOps orchestrator in one binary",
		Long: `navarch turns manifests committed to a Git repository into running
containers on a small Kubernetes-compatible cluster.

Start a control plane with "navarch up" (everything on this machine) or
"navarch server", then use "navarch get/apply/delete/describe" or the real
kubectl with the kubeconfig the server writes to <data-dir>/kubeconfig.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	config.AddFlags(root.PersistentFlags(), config.GlobalOptions()...)

	root.AddGroup(
		&cobra.Group{ID: groupRun, Title: "Run navarch:"},
		&cobra.Group{ID: groupClient, Title: "Work with the cluster (as kubectl does):"},
	)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add(groupRun, newUpCommand(streams), newServerCommand(streams), newAgentCommand(streams), newResetCommand(streams))
	kube := newKubeClient(streams)
	add(groupClient,
		newGetCommand(kube),
		newApplyCommand(kube),
		newDeleteCommand(kube),
		newDescribeCommand(kube),
		newLogsCommand(kube),
		newRolloutCommand(kube),
		newKubectlCommand(kube),
	)
	addGitOpsCommands(root, kube)
	root.AddCommand(newTokenCommand(streams), newImageCommand(streams), newHollowNodesCommand(streams))
	root.AddCommand(newVersionCommand(streams), newCompletionCommand(streams))
	return root
}

// Command groups in `navarch help`.
const (
	groupRun    = "run"
	groupClient = "client"
)
