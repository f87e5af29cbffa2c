// Package reconciler turns the revisions of Sources into the cluster's
// desired state: it reads a revision's manifests, validates the whole
// revision, plans what to create, update and prune, applies the plan to
// the store in one etcd transaction, waits for the workloads, and records
// status and history. It also writes rollback commits.
//
// # The controller
//
// Controller reconciles Sources by key ("<namespace>/<name>"), as every
// navarch controller does: a client-go informer on Sources (through the
// API server) and an informer on the Deployments Sources own feed a
// rate-limited workqueue; Options.Workers goroutines take keys from it,
// and the workqueue never hands one key to two workers at once. Status is
// written through the Sources' status subresource with the read
// resourceVersion as a precondition; a conflict retries the reconcile.
// Leader election is the caller's: with several servers, Run is called
// only while this server leads (the webhook handler works on every server
// and hands a push to the leader through the requestedAt annotation).
//
// Reconcile follows Flux's source-controller: read the Source (a missing
// one is not an error: what is remembered of it is dropped, and its Git
// clone when no other Source uses the URL) → defer the status write →
// suspend → fetch → sync → health.
//
//   - Fetch runs when due: spec.interval passed since the last fetch, a
//     webhook push, a directory event, a new gitops.navarch.dev/requestedAt
//     annotation (`navarch sync`), or a new generation of the spec. Git
//     Sources fetch through sources/git (credentials from the Secret
//     spec.git.secretRef names; spec.timeout bounds the call); directory
//     Sources snapshot through sources/dir and are watched with fsnotify,
//     one trigger per debounced burst. A failed fetch sets Ready=False with
//     a reason (Unreachable, AuthenticationFailed, NotFound, SecretNotFound
//     …) until a fetch succeeds, and leaves the applied revision running.
//   - Sync runs for a new revision, a new generation of the spec, a retry,
//     and on every poll, so that objects changed or deleted by hand are put
//     back (drift correction). An unchanged revision without drift writes
//     nothing at all.
//   - Health: after an apply the Source is Reconciling (Ready=Unknown,
//     reason Progressing) until every workload it applied is available —
//     Deployments: observedGeneration caught up, updated, available and
//     total replicas equal to spec.replicas; ReplicaSets likewise; Pods
//     ready — or one of them passed its progress deadline (Ready=False,
//     ProgressDeadlineExceeded, history result Failed). Then Ready=True,
//     the history entry gets its ready time and commit-to-ready seconds,
//     and navarch_source_commit_to_ready_seconds observes them.
//
// A newer revision that arrives during a sync supersedes it by finishing
// and redoing: the transaction of the sync under way is short and all or
// nothing, so it completes, and the trigger marks the key for one more
// reconcile right after, which fetches the newest commit. A revision whose
// workloads were still awaited when the next one was applied is recorded
// as Superseded in the history. A burst of triggers makes one more sync,
// not one per trigger.
//
// # From files to a plan
//
// Parse reads every .yaml, .yml and .json file under spec.path
// (multi-document; other files, dot-files and dot-folders are ignored)
// with the api Scheme, strictly: an unknown kind, an unknown or duplicate
// field is a problem. Namespaced objects get their own namespace, else
// spec.targetNamespace, else "default"; cluster-scoped ones get none.
// Validate defaults every object (api.Default) and validates it as a new
// object (api.Validate), and reports objects declared twice. Every problem
// is reported, as "file: kind namespace/name: field: message", in
// status.errors and the Ready condition's message; when there is any,
// nothing of the revision is written (Ready=False, Stalled=True, reason
// ValidationFailed, history result Invalid).
//
// MakePlan is a pure function of the revision, the live objects, the
// previous inventory and spec.prune (golden tests under testdata/plan):
//
//   - a desired object missing from the store is created;
//   - one that exists is compared with the live object after merging what
//     the server owns (uid, creation time, generation, status, allocated
//     cluster IPs and node ports through api.PrepareForUpdate; owner
//     references, finalizers and managed fields when the manifest has none;
//     labels and annotations under the controllers' prefixes
//     deployment.kubernetes.io/, endpoints.kubernetes.io/ and
//     control-plane.alpha.kubernetes.io/), and updated only when they
//     differ — every other label and annotation is the manifest's;
//   - objects the Source owned (its inventory, and any object carrying its
//     ownership annotation, which covers a status write lost in a crash)
//     that the revision dropped are deleted when spec.prune is true, unless
//     a desired object still lives in that namespace;
//   - objects annotated gitops.navarch.dev/reconcile: disabled (live or in
//     the manifest) are neither updated nor pruned, only created when
//     missing; objects being deleted are skipped until they are gone;
//   - an object another Source owns, or a namespace that neither exists nor
//     is declared, or is being deleted, is a problem: nothing is applied.
//
// Changes are ordered Namespaces → ConfigMaps, Secrets, ServiceAccounts →
// Services → Deployments, ReplicaSets, Pods → the rest; prunes follow in
// the reverse order. Every object written carries the label
// gitops.navarch.dev/source=<namespace>.<name> and the annotation
// gitops.navarch.dev/source=<namespace>/<name>; status.inventory lists
// them all.
//
// # Apply
//
// Apply admits every change through an Admitter — the API server's
// admission: defaulting, PrepareForCreate/PrepareForUpdate (a generation
// bump when the spec changed), Validate/ValidateUpdate (immutable fields),
// and the allocations of a create (cluster IPs, node ports) as store
// operations of the same transaction — and refuses the revision if any
// change is refused. Then every operation goes to the store in one
// store.Txn: creates require the key to be free, updates and deletes
// carry the live resourceVersion as a precondition, so an object changed
// between plan and apply fails the whole transaction (the sync is retried
// from a fresh read) and the store holds the whole old revision or the
// whole new one. The objects' resourceVersions are the transaction's
// revision. When etcd refuses the transaction's size (store.ErrTooLarge)
// the plan is applied in ordered stages, rank by rank, each split further
// while still too large, and the history entry says so.
// The binary passes the API server's Server.Admit (through AdmitFunc),
// which also records managedFields under FieldManager; APIAdmitter admits
// with package api alone, without allocations, for callers that have no
// API server in the process.
//
// # History, rollback, diff
//
// status.history keeps the last HistoryLimit syncs, newest first: revision,
// commit subject and author, commit, applied and ready times, result
// (Applied, Ready, Failed, Invalid, Superseded) and counts. Rollback writes
// a commit on the Source's branch whose tree under spec.path is an earlier
// revision's (the previous applied one by default) or that undoes one
// commit, and pushes it with the Source's credentials (sources/git
// Revert); Git stays the source of truth, the next sync applies it. A
// directory Source has no history (ErrNoHistory). Plan.Diff renders a
// plan as a unified diff of YAML; `navarch diff` runs Fetch, Desired
// (Parse and Validate) and PlanSync (ReadLive through the API with
// ClientReader, then MakePlan) in the client, as the controller does in
// the server, so it needs to reach the repository (or directory) itself.
//
// # Webhooks
//
// WebhookHandler serves POST /webhooks/<namespace>/<name>, mounted
// unauthenticated on the API server: the body is bounded, the delivery
// verified with the "token" of the Secret spec.webhook.secretRef names
// (GitHub, GitLab, Gitea/Forgejo or generic HMAC, sources/webhook); a bad
// or missing signature, an unknown Source or one without a webhook get
// 401 and nothing else; a repeated delivery id is ignored; a push to the
// followed branch or tag triggers a fetch and sync at once (202).
//
// # Seams and callers
//
// Admitter (the API server's admission), Committer (*store.Store),
// LiveReader (StoreReader in the server, ClientReader in the CLI). The
// binary creates the Controller with the store, an admin client
// configuration and the data dir, mounts WebhookHandler at WebhookPath,
// registers the metrics on the API server's registry (Register), and runs
// it. The CLI uses SourceClient, Credentials, Fetch, Desired, PlanSync,
// Plan.Diff and Rollback.
package reconciler
