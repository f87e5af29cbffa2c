// Package git fetches the manifests of Git Sources and writes their
// rollback commits, with go-git and a cache of bare clones on disk.
//
// One Cache serves every Source. It keeps one bare clone per repository URL
// under Options.Dir, in a directory named by a hash of the URL, and
// serializes the operations on one URL with a lock; different URLs proceed
// in parallel.
//
//   - Cache.Fetch(ctx, url, ref, creds) brings the clone up to date and
//     returns the Revision (commit, subject, author, committer time) that a
//     branch, tag or exact commit names. A commit already in the cache is
//     returned without contacting the remote.
//   - Cache.Files(ctx, rev, path) reads every file under a folder at a
//     fetched revision; symbolic links leaving that folder are refused.
//   - Cache.Revert(ctx, url, branch, creds, opts) writes and pushes a commit
//     on the branch that restores a folder to an earlier revision, or undoes
//     one commit when no later commit touched its files.
//   - Cache.Forget(url) removes a clone, for a Source that was deleted.
//
// URLs: https:// and http:// (basic auth: username and password, or a
// token as password), ssh:// and scp-like git@host:path (private key;
// known_hosts is required, there is no trust-on-first-use), and file://
// (through the local git-upload-pack and git-receive-pack).
//
// History: branches are fetched with their full history; rollback needs
// it, and after the first clone each fetch transfers only new objects. A
// repository first fetched for a tag is cloned shallow (depth 1); when the
// same URL then needs history its clone is replaced by a full one.
//
// Time limits: every remote call is bounded by its context, or by
// Options.Timeout when the context has no deadline. SSH dials get the same
// bound (go-git does not tie them to the context).
//
// Errors callers branch on, with errors.Is: ErrUnreachable, ErrAuth,
// ErrRepositoryNotFound, ErrRefNotFound, ErrInvalidRef, ErrPathNotFound,
// ErrSymlinkOutside, ErrNothingToRevert, ErrRevertConflict (errors.As gives
// a *ConflictError naming the file and the later commit) and
// ErrPushRejected. Messages name the URL and never hold a password, not
// even one written into the URL.
//
// Callers: the reconciler, which reads the Source's Secret
// (CredentialsFromSecretData), calls Fetch at spec.interval and on
// webhooks, passes spec.timeout in the context, keeps the last applied
// revision running when Fetch fails, and calls Revert for
// `navarch rollback`.
package git
