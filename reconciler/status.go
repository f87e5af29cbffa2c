package reconciler

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// HistoryLimit is how many syncs status.history keeps.
const HistoryLimit = 10

// Results a history entry records.
const (
	// ResultApplied: written to the store; workloads not yet available.
	ResultApplied = "Applied"
	// ResultReady: written, and every workload it applied is available.
	ResultReady = "Ready"
	// ResultFailed: written, but a workload missed its progress deadline.
	ResultFailed = "Failed"
	// ResultInvalid: refused; nothing of it was written.
	ResultInvalid = "Invalid"
	// ResultSuperseded: a newer revision was applied before this one was
	// ready.
	ResultSuperseded = "Superseded"
)

// Condition reasons.
const (
	ReasonSucceeded        = "Succeeded"
	ReasonProgressing      = "Progressing"
	ReasonSuspended        = "Suspended"
	ReasonValidationFailed = "ValidationFailed"
	ReasonApplyFailed      = "ApplyFailed"
	ReasonDeadlineExceeded = "ProgressDeadlineExceeded"
)

// setCondition sets one condition of src for its current generation.
func setCondition(src *gitopsv1alpha1.Source, typ string, status metav1.ConditionStatus, reason, message string, now time.Time) {
	meta.SetStatusCondition(&src.Status.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message,
		ObservedGeneration: src.Generation, LastTransitionTime: mtime(now),
	})
}

// markReady: the newest revision is applied and available.
func markReady(src *gitopsv1alpha1.Source, message string, now time.Time) {
	setCondition(src, gitopsv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonSucceeded, message, now)
	setCondition(src, gitopsv1alpha1.ConditionReconciling, metav1.ConditionFalse, ReasonSucceeded, message, now)
	setCondition(src, gitopsv1alpha1.ConditionStalled, metav1.ConditionFalse, ReasonSucceeded, "", now)
}

// markProgressing: a revision is applied and its workloads are awaited.
func markProgressing(src *gitopsv1alpha1.Source, message string, now time.Time) {
	setCondition(src, gitopsv1alpha1.ConditionReady, metav1.ConditionUnknown, ReasonProgressing, message, now)
	setCondition(src, gitopsv1alpha1.ConditionReconciling, metav1.ConditionTrue, ReasonProgressing, message, now)
	setCondition(src, gitopsv1alpha1.ConditionStalled, metav1.ConditionFalse, ReasonProgressing, "", now)
}

// markFailed: the sync failed in a way a retry may fix (a fetch, a
// conflict, a deadline). stalled says whether only a change by the user
// can fix it.
func markFailed(src *gitopsv1alpha1.Source, reason, message string, stalled bool, now time.Time) {
	setCondition(src, gitopsv1alpha1.ConditionReady, metav1.ConditionFalse, reason, message, now)
	setCondition(src, gitopsv1alpha1.ConditionReconciling, metav1.ConditionFalse, reason, message, now)
	s := metav1.ConditionFalse
	if stalled {
		s = metav1.ConditionTrue
	}
	setCondition(src, gitopsv1alpha1.ConditionStalled, s, reason, message, now)
}

// pushHistory adds e as the newest entry, keeping HistoryLimit.
func pushHistory(src *gitopsv1alpha1.Source, e gitopsv1alpha1.HistoryEntry) {
	h := append([]gitopsv1alpha1.HistoryEntry{e}, src.Status.History...)
	if len(h) > HistoryLimit {
		h = h[:HistoryLimit]
	}
	src.Status.History = h
}

// newestEntry is the newest history entry, or nil.
func newestEntry(src *gitopsv1alpha1.Source) *gitopsv1alpha1.HistoryEntry {
	if len(src.Status.History) == 0 {
		return nil
	}
	return &src.Status.History[0]
}

// historyEntry starts the entry of an artifact.
func historyEntry(art *Artifact, result string) gitopsv1alpha1.HistoryEntry {
	e := gitopsv1alpha1.HistoryEntry{Revision: art.Revision, Subject: art.Subject, Author: art.Author, Result: result}
	if !art.Time.IsZero() {
		t := mtime(art.Time)
		e.CommitTime = &t
	}
	return e
}

// PreviousRevision is the revision applied before the current one: the
// newest history entry that was written to the store (Ready, Applied,
// Failed or Superseded) and names another revision than
// status.lastAppliedRevision. It is "" when there is none.
func PreviousRevision(src *gitopsv1alpha1.Source) string {
	for _, e := range src.Status.History {
		if e.Revision == src.Status.LastAppliedRevision || e.Result == ResultInvalid {
			continue
		}
		return e.Revision
	}
	return ""
}

// mtime is t as the API stores it: to the second.
func mtime(t time.Time) metav1.Time { return metav1.NewTime(t).Rfc3339Copy() }
