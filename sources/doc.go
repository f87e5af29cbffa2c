// Package sources fetches the manifests a Source follows. It is a library:
// it owns no API objects, reads no Secrets and writes no status. The
// reconciler owns all of that and calls the seams below.
//
// The subpackages, one job each:
//
//   - sources/git keeps a cache of bare clones (one per repository URL) under
//     the data directory. Cache.Fetch resolves a branch, tag or exact commit
//     to a Revision with a timeout from the context; Cache.Files reads the
//     tree under a path at that revision; Cache.Revert writes and pushes a
//     rollback commit. Failures are sentinels the reconciler maps to
//     condition reasons: ErrUnreachable, ErrAuth, ErrRepositoryNotFound,
//     ErrRefNotFound, ErrPathNotFound, ErrRevertConflict.
//     CredentialsFromSecretData turns a Secret's data into Credentials.
//   - sources/dir snapshots a directory (Snapshot: a content hash and the
//     files) and watches it (Watch: one event per debounced burst, recursive,
//     dot-entries ignored). Symlinks that leave the directory are refused.
//   - sources/webhook authenticates push notifications from GitHub, GitLab,
//     Gitea/Forgejo and a generic HMAC sender (Verify), bounds the body
//     (ReadBody), and drops repeated deliveries (Deduper).
//   - sources/gittest serves real Git repositories over HTTP with
//     `git http-backend` for tests of this package and of its callers.
//
// The reconciler's workqueue, keyed by Source, coalesces the wake-ups
// these packages cause: a burst of webhook deliveries or of file events
// makes one more sync, not one each.
//
// Callers' duties: the reconciler builds Credentials from the Source's
// Secret, passes a context with spec.timeout to every remote call, keeps the
// last applied revision running when a fetch fails, and calls Verify before
// Deduper.Seen so that unauthenticated requests cannot fill the deduper.
package sources
