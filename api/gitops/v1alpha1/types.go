package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types a Source reports, after Flux's kstatus conventions.
const (
	// ConditionReady is True when the last applied revision is the newest one
	// fetched and every workload it applied is available.
	ConditionReady = "Ready"
	// ConditionReconciling is True while a revision is being fetched, applied
	// or waited on.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the Source cannot make progress without a
	// change from its user (an invalid revision, a missing secret …).
	ConditionStalled = "Stalled"
)

// Labels and annotations navarch puts on, or reads from, objects.
const (
	// LabelSource marks an object as owned by a Source; its value is
	// "<namespace>.<name>" of that Source. (A label value cannot hold "/".)
	LabelSource = "gitops.navarch.dev/source"
	// AnnotationSource holds "<namespace>/<name>" of the owning Source.
	AnnotationSource = "gitops.navarch.dev/source"
	// AnnotationReconcile, set to "disabled" on an object, leaves it alone:
	// drift on it is not corrected.
	AnnotationReconcile = "gitops.navarch.dev/reconcile"
	// AnnotationRequestedAt asks for a sync now when its value changes
	// (`navarch sync` sets it to the current time).
	AnnotationRequestedAt = "gitops.navarch.dev/requestedAt"
)

// +genclient
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Source is a Git repository or a local directory whose manifests navarch
// keeps applied to the cluster.
type Source struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SourceSpec   `json:"spec"`
	Status SourceStatus `json:"status,omitempty"`
}

// SourceSpec is what a Source follows and how.
type SourceSpec struct {
	// Git follows a branch, tag or commit of a Git repository. Exactly one of
	// Git and Directory is set.
	Git *GitSource `json:"git,omitempty"`
	// Directory follows a directory on the server's filesystem.
	Directory *DirectorySource `json:"directory,omitempty"`
	// Path is the folder inside the repository or directory whose manifests
	// are applied; empty means its root.
	Path string `json:"path,omitempty"`
	// TargetNamespace is the namespace given to namespaced objects that name
	// none; empty means "default".
	TargetNamespace string `json:"targetNamespace,omitempty"`
	// Interval is how often the source is polled. Webhooks and file events
	// trigger a sync sooner. Defaults to 1m.
	Interval metav1.Duration `json:"interval,omitempty"`
	// Timeout bounds every remote call (fetch, push). Defaults to 60s.
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// Prune deletes objects that a previous revision applied and the current
	// one no longer has.
	Prune bool `json:"prune,omitempty"`
	// Suspend stops syncing; what is applied stays.
	Suspend bool `json:"suspend,omitempty"`
	// Webhook names the secret that authenticates pushes to
	// /webhooks/<namespace>/<name>.
	Webhook *WebhookSpec `json:"webhook,omitempty"`
}

// GitSource locates a Git repository and the reference to follow.
type GitSource struct {
	// URL of the repository: https://, ssh://, git@host:path or file://.
	URL string `json:"url"`
	// Ref is the branch, tag or commit to follow; defaults to branch main.
	Ref GitRef `json:"ref,omitempty"`
	// SecretRef names a Secret in the Source's namespace with credentials:
	// username + password (or password alone as a token) for HTTPS;
	// identity (a private key) + known_hosts for SSH.
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
}

// GitRef is one of a branch, a tag or an exact commit. When several are set,
// commit wins over tag, and tag over branch.
type GitRef struct {
	Branch string `json:"branch,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// DirectorySource is a directory on the server's filesystem.
type DirectorySource struct {
	// Path is an absolute path.
	Path string `json:"path"`
}

// WebhookSpec configures the webhook receiver of a Source.
type WebhookSpec struct {
	// SecretRef names a Secret whose key "token" holds the shared secret.
	SecretRef LocalObjectReference `json:"secretRef"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	Name string `json:"name"`
}

// SourceStatus is what navarch last observed and did for a Source.
type SourceStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, Reconciling, Stalled, each with reason and message.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastAttemptedRevision is the newest revision fetched and tried.
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`
	// LastAppliedRevision is the revision now applied.
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`
	// LastHandledRequestedAt is the AnnotationRequestedAt value last acted on.
	LastHandledRequestedAt string `json:"lastHandledRequestedAt,omitempty"`
	// Errors lists every problem of the last attempted revision, as
	// "file: kind namespace/name: field: message".
	Errors []string `json:"errors,omitempty"`
	// Inventory is every object the applied revision owns, for pruning.
	Inventory []InventoryEntry `json:"inventory,omitempty"`
	// History is the last syncs, newest first (at most 10).
	History []HistoryEntry `json:"history,omitempty"`
}

// InventoryEntry identifies one applied object.
type InventoryEntry struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// HistoryEntry records one sync of a revision.
type HistoryEntry struct {
	Revision string `json:"revision"`
	// Subject and Author of the commit (empty for a directory).
	Subject string `json:"subject,omitempty"`
	Author  string `json:"author,omitempty"`
	// CommitTime is the commit's committer time (or the directory
	// snapshot's time).
	CommitTime *metav1.Time `json:"commitTime,omitempty"`
	// AppliedAt is when the revision was written to the store.
	AppliedAt *metav1.Time `json:"appliedAt,omitempty"`
	// ReadyAt is when every workload of the revision was available.
	ReadyAt *metav1.Time `json:"readyAt,omitempty"`
	// Result is Applied, Ready, Failed, Invalid or Superseded.
	Result string `json:"result"`
	// Message explains a result other than Ready.
	Message string `json:"message,omitempty"`
	// CommitToReadySeconds is ReadyAt − CommitTime.
	CommitToReadySeconds *float64 `json:"commitToReadySeconds,omitempty"`
	// Objects counts the objects applied (created, updated, pruned).
	Created int `json:"created,omitempty"`
	Updated int `json:"updated,omitempty"`
	Pruned  int `json:"pruned,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// SourceList is a list of Sources.
type SourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Source `json:"items"`
}
