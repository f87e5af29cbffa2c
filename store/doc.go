// Package store keeps API objects in etcd v3.
//
// One Store serves every resource. Objects are JSON under keys of the form
// /registry/<group>/<resource>/<namespace>/<name> (api.Resource.StorageKey
// builds them); an object's resourceVersion is the etcd revision of its last
// write, so a resourceVersion is also a point in the history of the whole
// store.
//
// The verbs, one file each: Get, Create, Update (with a resourceVersion
// precondition) and GuaranteedUpdate (read-modify-write with retries),
// Delete, List (consistent at one revision; label and field selectors;
// limit/continue paging), Watch (from a revision; ADDED, MODIFIED, DELETED,
// BOOKMARK; ErrCompacted once that revision is compacted), and Txn (many
// creates, updates and deletes, all or nothing, in one etcd transaction).
//
// New starts an embedded etcd under <data-dir>/etcd, or connects to an
// external cluster when Options.Endpoints is set. The store compacts the
// history periodically, keeping at least Options.CompactRetention of it.
//
// Errors callers branch on are the sentinels below, tested with errors.Is:
// ErrNotFound, ErrExists, ErrConflict, ErrCompacted, ErrTooLarge. The API
// server turns them into Kubernetes Status objects (404, 409, 409, 410, 413).
//
// Callers: the API server (every request) and the reconciler (Txn). No other
// component writes to the store; they are API clients.
package store
