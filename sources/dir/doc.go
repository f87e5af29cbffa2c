// Package dir follows a directory on the server's filesystem: Snapshot
// reads it into memory with a content hash as its revision, and Watch
// signals when it changed.
//
// Snapshot(root, path) reads every file under root/path. The revision ID is
// "sha256:<hex>" over the sorted relative paths and their contents, so the
// same content always gives the same ID, whatever the modification times.
// Names starting with "." (dot-files and dot-folders such as .git, editor
// swap files) and backups ending in "~" are skipped (Ignored). Symbolic
// links are followed when they resolve inside root and refused with
// ErrSymlinkOutside, naming the link, when they do not.
//
// Watch(ctx, root, debounce) watches root recursively with fsnotify; folders
// created later are watched as they appear. Events are debounced: a burst
// (an editor's save-by-rename, a `git checkout` of many files, `rm -r`)
// ends when no event came for the debounce (250 ms by default), and makes
// one signal on the returned channel. A burst that never pauses still
// signals every ten debounce periods. Signals coalesce: the channel holds at
// most one, so a slow consumer takes a Snapshot of the latest state. Events
// for ignored names and changes of permissions alone do not count.
//
// Callers: the reconciler calls Watch once per directory Source, and on
// every signal (and at spec.interval) calls Snapshot and applies the
// revision when its ID differs from the last applied one. A directory has
// no history: rollback is refused by the reconciler.
package dir
