package store

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// Sentinel errors. Methods wrap them with the key; test with errors.Is.
var (
	// ErrNotFound: no object at the key (Get, Update, GuaranteedUpdate
	// without ignoreNotFound, Delete, a Txn update or delete).
	ErrNotFound = errors.New("not found")
	// ErrExists: Create, or a Txn create, of a key that holds an object.
	ErrExists = errors.New("already exists")
	// ErrConflict: a resourceVersion precondition did not hold (Update,
	// Delete, Txn), or GuaranteedUpdate ran out of retries.
	ErrConflict = errors.New("the object has been modified")
	// ErrCompacted: List or Watch asked for a revision etcd has compacted
	// (the API server answers 410 Gone).
	ErrCompacted = errors.New("resource version too old")
	// ErrTooLarge: a request exceeds etcd's request size or operation count
	// limits (a Txn the caller may split).
	ErrTooLarge = errors.New("request too large for etcd")
	// ErrInvalidContinue: a continue token that this store did not issue or
	// that belongs to another query.
	ErrInvalidContinue = errors.New("invalid continue token")
)

// Options configures a Store.
type Options struct {
	// DataDir holds the embedded etcd's data in DataDir/etcd. Required when
	// Endpoints is empty.
	DataDir string
	// Endpoints of an external etcd cluster; empty starts an embedded one.
	Endpoints []string
	// CAFile, CertFile, KeyFile: TLS for an external cluster.
	CAFile, CertFile, KeyFile string
	// CompactInterval is how often old revisions are compacted; 0 means 5m.
	// Negative turns compaction off (tests compact explicitly).
	CompactInterval time.Duration
	// CompactRetention is how much history a compaction keeps; 0 means 5m.
	CompactRetention time.Duration
	// BookmarkInterval is how often watches that allow bookmarks get one;
	// 0 means 1m.
	BookmarkInterval time.Duration
	// Codec encodes objects to JSON and decodes them (api.LegacyCodec of
	// every served group-version). Required.
	Codec runtime.Codec
	// Metrics, when set, receives etcd operation latencies.
	Metrics MetricsSink

	// Logger receives the store's own messages (compaction, watch
	// failures); nil means slog.Default().
	Logger *slog.Logger
	// Debug lets the embedded etcd log at info level instead of error.
	Debug bool
	// StartTimeout bounds the start of the embedded etcd or the first
	// connection to an external one; 0 means 1m.
	StartTimeout time.Duration
	// UnsafeNoFsync turns off the embedded etcd's fsync. A crash may then
	// lose or corrupt data: for tests only.
	UnsafeNoFsync bool
}

// MetricsSink observes the latency of each etcd operation ("get", "list",
// "count", "create", "update", "delete", "txn", "watch", "compact") on a
// resource: "<group>/<resource>" of the key ("core/pods"), "other" for keys
// outside /registry/. A Txn is reported on its first op's resource; a
// Watch's latency is the time to start it.
type MetricsSink interface {
	ObserveEtcd(op, resource string, d time.Duration, err error)
}

// Predicate selects objects by labels and fields. A zero Predicate (nil
// selectors) matches everything.
type Predicate struct {
	Label labels.Selector
	Field fields.Selector
	// Attrs returns the labels and the selectable fields of an object
	// (api.SelectableFields); required when Field or Label is set.
	Attrs func(runtime.Object) (labels.Set, fields.Set, error)
}

// Empty reports whether p matches every object.
func (p Predicate) Empty() bool {
	return (p.Label == nil || p.Label.Empty()) && (p.Field == nil || p.Field.Empty())
}

// ListOptions narrows a List.
type ListOptions struct {
	// ResourceVersion: "" reads the newest data (a quorum read); "0" reads
	// whatever is newest too (there is no cache); "N" reads at revision N
	// exactly when Exact or Limit is set or a continue token is given,
	// else at least N (Kubernetes' NotOlderThan), and ErrCompacted when N
	// is compacted.
	ResourceVersion string
	// Exact reads at ResourceVersion exactly, paged or not (Kubernetes'
	// resourceVersionMatch=Exact).
	Exact bool
	// Limit caps the number of items; 0 is no cap. A capped list returns a
	// Continue token; the next page is read at the same revision.
	Limit int64
	// Continue resumes a paged list.
	Continue  string
	Predicate Predicate
}

// ListResult is one page of a List.
type ListResult struct {
	Items []runtime.Object
	// ResourceVersion is the revision the list was read at.
	ResourceVersion int64
	// Continue is set when more items remain.
	Continue string
	// RemainingItemCount estimates the items after this page, when known
	// (nil with a field or label selector).
	RemainingItemCount *int64
}

// WatchOptions narrows a Watch.
type WatchOptions struct {
	// ResourceVersion: "" or "0" first sends an ADDED event for every
	// current object, then changes; "N" sends every change after revision N,
	// or fails with ErrCompacted when N is compacted.
	ResourceVersion string
	Predicate       Predicate
	// AllowBookmarks sends BOOKMARK events carrying the newest revision
	// (an object of the watched kind with only resourceVersion set).
	AllowBookmarks bool
	// Recursive watches every key under the prefix; otherwise the key itself.
	Recursive bool
}

// OpType is the kind of one operation of a transaction.
type OpType int

// The operations a Txn can hold.
const (
	OpCreate OpType = iota + 1
	OpUpdate
	OpDelete
)

// Op is one operation of a Txn.
type Op struct {
	Type OpType
	Key  string
	// Object to create or to store over the key (ignored for delete). Its
	// resourceVersion is set to the transaction's revision on success.
	Object runtime.Object
	// ResourceVersion, when non-zero on an update or delete, is a
	// precondition: the key's current revision must equal it.
	ResourceVersion int64
}

// ParseResourceVersion turns a resourceVersion string into a revision; ""
// is 0. It fails on anything that is not a decimal integer from 0 to
// 2^63-1 (an etcd revision).
func ParseResourceVersion(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(rv, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("invalid resource version %q", rv)
	}
	return int64(n), nil
}
