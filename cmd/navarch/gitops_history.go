package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/apiserver/printers"
)

// newHistoryCommand is `navarch history SOURCE`.
func newHistoryCommand(k *kubeClient) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history SOURCE",
		Short: "Show the revisions a Source applied, newest first",
		Long: `Show a Source's last syncs, newest first: the revision, its result
(Ready, Applied, Failed, Invalid, Superseded), when it was applied, how long
it took from the commit to every workload being ready, the objects created,
updated and pruned, and the commit's author and subject.`,
		Example: "  navarch history shop",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, src, err := openSource(cmd.Context(), k, args[0])
			if err != nil {
				return err
			}
			return printHistory(cmd.OutOrStdout(), src, time.Now())
		},
	}
	return k.attach(cmd)
}

// printHistory writes src's history as a table.
func printHistory(out io.Writer, src *gitopsv1alpha1.Source, now time.Time) error {
	if len(src.Status.History) == 0 {
		_, err := fmt.Fprintf(out, "No syncs of %s/%s yet.\n", src.Namespace, src.Name)
		return err
	}
	w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "REVISION\tRESULT\tAPPLIED\tCOMMIT-TO-READY\tCHANGES\tAUTHOR\tSUBJECT")
	for _, h := range src.Status.History {
		applied, ready, changes := "-", "-", "-"
		if h.AppliedAt != nil {
			applied = duration.HumanDuration(now.Sub(h.AppliedAt.Time)) + " ago"
		}
		if h.CommitToReadySeconds != nil {
			ready = fmt.Sprintf("%.1fs", *h.CommitToReadySeconds)
		}
		if h.AppliedAt != nil {
			changes = fmt.Sprintf("+%d ~%d -%d", h.Created, h.Updated, h.Pruned)
		}
		author, _, _ := strings.Cut(h.Author, " <")
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printers.ShortRevision(h.Revision), h.Result, applied, ready, changes,
			dash(author), dash(h.Subject))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if h := src.Status.History[0]; h.Message != "" {
		_, err := fmt.Fprintf(out, "\n%s: %s\n", printers.ShortRevision(h.Revision), h.Message)
		return err
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
