package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/reconciler"
)

// newDiffCommand is `navarch diff SOURCE`.
func newDiffCommand(k *kubeClient) *cobra.Command {
	var summary bool
	cmd := &cobra.Command{
		Use:   "diff SOURCE",
		Short: "Show what the next sync of a Source would change",
		Long: `Show what the next sync of a Source would change, as a unified diff of
YAML between the objects in the cluster and what the sync would store.

The diff is computed here, with the reconciler's own code: this command
fetches the Source's newest revision itself (with the credentials of the
Source's Secret, into a cache under the user's cache directory), or reads
its directory, so it must reach the repository or the directory; it then
reads the live objects through the API and plans the sync as the
reconciler would. An invalid revision is reported as the reconciler would
report it, and nothing else is shown.`,
		Example: `  navarch diff shop
  navarch diff shop --summary`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, src, err := openSource(cmd.Context(), k, args[0])
			if err != nil {
				return err
			}
			return g.diff(cmd.Context(), cmd.OutOrStdout(), src, summary)
		},
	}
	cmd.Flags().BoolVar(&summary, "summary", false, "list the changes one line each instead of a diff")
	return k.attach(cmd)
}

func (g *gitopsClient) diff(ctx context.Context, out io.Writer, src *gitopsv1alpha1.Source, summary bool) error {
	cache, creds, err := g.gitAccess(ctx, src)
	if err != nil {
		return err
	}
	art, err := reconciler.Fetch(ctx, cache, src, creds, nil)
	if err != nil {
		return err
	}
	objs, problems := reconciler.Desired(art.Files, src.Spec.TargetNamespace)
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", art.Revision, problems.Summary())
	}
	dyn, err := dynamic.NewForConfig(g.config)
	if err != nil {
		return err
	}
	plan, err := reconciler.PlanSync(ctx, reconciler.ClientReader{Client: dyn}, src, objs)
	if err != nil {
		return err
	}
	if len(plan.Problems) > 0 {
		return fmt.Errorf("%s: %s", art.Revision, plan.Problems.Summary())
	}
	if summary {
		_, err := fmt.Fprintf(out, "%s (applied: %s)\n%s", art.Revision, orNone(src.Status.LastAppliedRevision), plan.String())
		return err
	}
	text, err := plan.Diff()
	if err != nil {
		return err
	}
	if text == "" {
		_, err := fmt.Fprintf(out, "No changes: the cluster matches %s.\n", art.Revision)
		return err
	}
	_, err = io.WriteString(out, text)
	return err
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
