package printers

import (
	"regexp"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

var sourcePrinter = printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		column("Ready", "string", "Status of the Ready condition: True when the newest revision is applied and available."),
		column("Revision", "string", "The revision applied last, with Git commit hashes shortened to 12 characters."),
		ageColumn,
		column("Message", "string", "Message of the Ready condition."),
		wideColumn("URL", "string", "The Git repository URL, or the directory path, followed."),
		wideColumn("Path", "string", "The folder inside the repository or directory whose manifests are applied."),
	},
	cells: func(obj runtime.Object, now time.Time) []any {
		src := obj.(*gitopsv1alpha1.Source)
		ready, message := "Unknown", ""
		if c := metaCondition(src.Status.Conditions, gitopsv1alpha1.ConditionReady); c != nil {
			ready, message = string(c.Status), c.Message
		}
		url := ""
		switch {
		case src.Spec.Git != nil:
			url = src.Spec.Git.URL
		case src.Spec.Directory != nil:
			url = src.Spec.Directory.Path
		}
		return []any{
			src.Name, ready, orNone(ShortRevision(src.Status.LastAppliedRevision)), since(src.CreationTimestamp, now), message,
			orNone(url), orNone(src.Spec.Path),
		}
	},
}

func metaCondition(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// gitHash matches a full SHA-1 or SHA-256 commit hash at the end of a
// revision ("0123…", "main@sha1:0123…").
var gitHash = regexp.MustCompile(`\b([0-9a-f]{40}|[0-9a-f]{64})$`)

// ShortRevision shortens a Git commit hash at the end of rev to its first 12
// characters, leaving any prefix ("main@sha1:") in place; other revisions
// come back unchanged.
func ShortRevision(rev string) string {
	if loc := gitHash.FindStringIndex(rev); loc != nil {
		return rev[:loc[0]+12]
	}
	return rev
}
