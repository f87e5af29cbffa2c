package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// newSyncCommand is `navarch sync SOURCE [--wait]`.
func newSyncCommand(k *kubeClient) *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "sync SOURCE",
		Short: "Fetch and apply a Source's newest revision now",
		Long: `Ask the reconciler to fetch the Source's newest revision and apply it now,
instead of at its next poll. SOURCE is a name (looked up in navarch-system,
then in the current namespace) or <namespace>/<name>.

With --wait, follow the sync until the Source is Ready or fails, printing
its progress: the revision fetched, the objects applied, the workloads ready.`,
		Example: `  navarch sync shop
  navarch sync navarch-system/shop --wait`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, src, err := openSource(cmd.Context(), k, args[0])
			if err != nil {
				return err
			}
			return g.requestSync(cmd.Context(), cmd.OutOrStdout(), src, wait, timeout)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the Source is Ready or fails, printing progress")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long --wait waits")
	return k.attach(cmd)
}

// requestSync asks the reconciler to sync src now and, with wait, follows
// the sync until it is done (waitSync).
func (g *gitopsClient) requestSync(ctx context.Context, out io.Writer, src *gitopsv1alpha1.Source, wait bool, timeout time.Duration) error {
	token, err := g.sources.RequestSync(ctx, src.Namespace, src.Name, time.Now())
	if err != nil {
		return fmt.Errorf("request sync of %s/%s: %w", src.Namespace, src.Name, err)
	}
	fmt.Fprintf(out, "sync of %s/%s requested\n", src.Namespace, src.Name)
	if !wait {
		return nil
	}
	return g.waitSync(ctx, out, src.Namespace, src.Name, token, timeout)
}

// waitSync follows a Source until the sync asked for with token is done:
// status.lastHandledRequestedAt holds token and the Source is no longer
// Reconciling. It prints each new step, and fails when the Source ends
// not Ready.
func (g *gitopsClient) waitSync(ctx context.Context, out io.Writer, ns, name, token string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p := progress{out: out}
	for {
		src, err := g.sources.Get(ctx, ns, name)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("waiting for %s/%s: %w", ns, name, ctx.Err())
			}
			return err
		}
		if src.Status.LastHandledRequestedAt == token {
			p.show(src)
			if done, err := syncDone(src); done {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s/%s: %w", ns, name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// syncDone reports whether the Source finished its sync, and its failure.
func syncDone(src *gitopsv1alpha1.Source) (bool, error) {
	var ready, reconciling *metav1.Condition
	for i := range src.Status.Conditions {
		switch c := &src.Status.Conditions[i]; c.Type {
		case gitopsv1alpha1.ConditionReady:
			ready = c
		case gitopsv1alpha1.ConditionReconciling:
			reconciling = c
		}
	}
	if ready == nil || reconciling != nil && reconciling.Status == metav1.ConditionTrue {
		return false, nil
	}
	switch ready.Status {
	case metav1.ConditionTrue:
		return true, nil
	case metav1.ConditionFalse:
		return true, errors.New(ready.Reason + ": " + ready.Message)
	}
	return false, nil
}

// progress prints what changed in a Source's status since the last look.
type progress struct {
	out                        io.Writer
	revision, applied, message string
}

func (p *progress) show(src *gitopsv1alpha1.Source) {
	if rev := src.Status.LastAttemptedRevision; rev != "" && rev != p.revision {
		p.revision = rev
		fmt.Fprintf(p.out, "fetched %s\n", rev)
	}
	if h := newestHistory(src); h != nil && h.Revision == src.Status.LastAppliedRevision && h.AppliedAt != nil {
		if key := h.Revision + h.AppliedAt.String(); key != p.applied {
			p.applied = key
			fmt.Fprintf(p.out, "applied %s: %d created, %d updated, %d pruned\n", h.Revision, h.Created, h.Updated, h.Pruned)
		}
	}
	for _, c := range src.Status.Conditions {
		if c.Type != gitopsv1alpha1.ConditionReady || c.Message == p.message {
			continue
		}
		p.message = c.Message
		fmt.Fprintf(p.out, "%s (%s): %s\n", readyWord(c.Status), c.Reason, c.Message)
	}
}

func readyWord(s metav1.ConditionStatus) string {
	switch s {
	case metav1.ConditionTrue:
		return "ready"
	case metav1.ConditionFalse:
		return "not ready"
	}
	return "progressing"
}

func newestHistory(src *gitopsv1alpha1.Source) *gitopsv1alpha1.HistoryEntry {
	if len(src.Status.History) == 0 {
		return nil
	}
	return &src.Status.History[0]
}
