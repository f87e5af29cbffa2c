package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/navarch/navarch/reconciler"
)

// newRollbackCommand is `navarch rollback SOURCE [--to REVISION] [--commit SHA]`.
func newRollbackCommand(k *kubeClient) *cobra.Command {
	var opts reconciler.RollbackOptions
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rollback SOURCE",
		Short: "Roll a Git Source back by committing an earlier revision",
		Long: `Roll a Git Source back with a new commit on its branch, so that Git stays
the source of truth and nothing fights the next sync.

By default the commit restores the Source's folder (spec.path) to the
revision applied before the current one (see "navarch history"); --to names
another revision (as history shows it, or a commit SHA or tag). --commit
undoes a single commit instead, and fails naming the file and the later
commit when a later commit changed the same files. The commit is pushed
with the credentials of the Source's Secret, then a sync is requested.

This command makes the commit itself, so it must reach the repository. A
directory Source has no history: restore its files instead.`,
		Example: `  navarch rollback shop
  navarch rollback shop --to main@sha1:2f1c0a9e4b7d
  navarch rollback shop --commit 2f1c0a9e4b7d51b0c1d2e3f4a5b6c7d8e9f0a1b2 --wait`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			g, src, err := openSource(ctx, k, args[0])
			if err != nil {
				return err
			}
			cache, creds, err := g.gitAccess(ctx, src)
			if err != nil {
				return err
			}
			commit, target, err := reconciler.Rollback(ctx, cache, src, creds, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if opts.Commit != "" {
				fmt.Fprintf(out, "pushed %s, reverting %s\n", commit, target)
			} else {
				fmt.Fprintf(out, "pushed %s, restoring %s\n", commit, target)
			}
			return g.requestSync(ctx, out, src, wait, timeout)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "revision to restore (default: the previous applied revision)")
	cmd.Flags().StringVar(&opts.Commit, "commit", "", "a single commit to undo (full SHA)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the Source is Ready at the new commit, printing progress")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long --wait waits")
	cmd.MarkFlagsMutuallyExclusive("to", "commit")
	return k.attach(cmd)
}
