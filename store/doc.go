// Package store keeps API objects in etcd v3.
//
// One Store serves every resource. Objects are JSON under keys of the form
// /registry/<group>/<resource>/<namespace>/<name> (api.Resource.StorageKey
// builds them); an object's resourceVersion is the etcd revision of its last
// write, so a resourceVersion is also a point in the history of the whole
// store. As in Kubernetes, the resourceVersion is never stored: it is blanked
// before encoding and set from the key's ModRevision on every read.
//
// The verbs, one file each: Get, Create, Update (with a resourceVersion
// precondition) and GuaranteedUpdate (read-modify-write with retries),
// Delete, List (consistent at one revision; label and field selectors;
// limit/continue paging), Count, Watch (from a revision; ADDED, MODIFIED,
// DELETED, BOOKMARK; ErrCompacted once that revision is compacted), and Txn
// (many creates, updates and deletes, all or nothing, in one etcd
// transaction).
//
// # Embedded and external etcd
//
// New starts an embedded etcd under <data-dir>/etcd, or connects to an
// external cluster when Options.Endpoints is set (TLS from CAFile, CertFile
// and KeyFile). The embedded server is one member that listens for clients
// on a unix socket, <data-dir>/etcd.sock (in a temporary directory when that
// path is too long for a socket), and opens no peer listener at all: a
// single member never talks to peers. So tests in parallel and several
// navarch processes on one machine never collide on a port; a lock file,
// <data-dir>/etcd.lock, refuses a second process on the same data.
// Restarting on the same data dir keeps every object, uid and
// resourceVersion. etcd logs errors only (info with Options.Debug).
//
// The embedded server's limits, raised from etcd's defaults so that the
// reconciler can apply a source revision of 1,000 objects in one
// transaction:
//
//   - MaxRequestBytes 32 MiB (default 1.5 MiB): a whole transaction is one
//     request; 1,000 objects of up to ~30 KiB of JSON each fit. The gRPC
//     receive limit follows it (etcd adds 512 KiB) and the client's send
//     limit is set to match.
//   - MaxTxnOps 10,000 (default 128): a Txn of n ops uses n compares, n
//     puts or deletes and n reads (to name the op that failed).
//   - QuotaBackendBytes 8 GiB (default 2 GiB), etcd's suggested maximum:
//     room for history between compactions of large revisions.
//   - Heartbeat 10 ms, election 100 ms (defaults 100 ms and 1 s): a single
//     member elects itself in a few ticks, so the store starts in tens of
//     milliseconds instead of up to a second; a lone member never loses
//     its quorum, so short timeouts cost nothing.
//
// An external cluster keeps its own limits; a Txn over them fails with
// ErrTooLarge and the caller may split it.
//
// # Compaction
//
// Every Options.CompactInterval (5m) the store samples the revision and
// compacts to the newest sample at least Options.CompactRetention (5m) old,
// so every change of the last CompactRetention stays in the history. Servers
// sharing one cluster compare-and-swap the key compact_rev_key first, as
// kube-apiserver does, so that only one of them compacts per interval.
// Reads and watches at a compacted revision fail with ErrCompacted; a
// running watch overtaken by compaction ends with an ERROR event holding a
// 410 Expired Status, after which clients relist.
//
// # Watch
//
// A watch is an etcd watch with previous values and progress notifications,
// translated event by event through the Predicate as Kubernetes does. With
// AllowBookmarks it asks etcd for progress every Options.BookmarkInterval
// and sends a BOOKMARK with the revision etcd reports once every event up
// to it was sent.
//
// # Errors
//
// Errors callers branch on are the sentinels in store.go, tested with
// errors.Is: ErrNotFound, ErrExists, ErrConflict, ErrCompacted, ErrTooLarge,
// ErrInvalidContinue. The API server turns them into Kubernetes Status
// objects (404, 409, 409, 410, 413, 400).
//
// Callers: the API server (every request) and the reconciler (Txn). No other
// component writes to the store; they are API clients. Tests start a store
// with internal/etcdtest.
package store
