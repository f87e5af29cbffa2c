package store

import (
	"errors"
	"time"
)

// Defaults applied by Options.withDefaults.
const (
	DefaultCompactInterval  = 5 * time.Minute
	DefaultCompactRetention = 5 * time.Minute
	DefaultBookmarkInterval = time.Minute
	// DefaultStartTimeout bounds the start of the embedded etcd (until it
	// serves clients).
	DefaultStartTimeout = time.Minute
)

// Limits of the embedded etcd and of the client. See doc.go for why.
const (
	// MaxRequestBytes is the largest request (a whole Txn) the embedded etcd
	// accepts; the client's send limit matches it.
	MaxRequestBytes = 32 << 20
	// MaxTxnOps is the most operations of one kind (compares, success ops,
	// failure ops) in one etcd transaction.
	MaxTxnOps = 10000
	// QuotaBackendBytes is the size the embedded etcd's database may grow to.
	QuotaBackendBytes = 8 << 30
	// grpcOverhead is the slack etcd itself adds to its gRPC receive limit.
	grpcOverhead = 512 << 10
)

// withDefaults returns o with zero durations replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.CompactInterval == 0 {
		o.CompactInterval = DefaultCompactInterval
	}
	if o.CompactRetention == 0 {
		o.CompactRetention = DefaultCompactRetention
	}
	if o.BookmarkInterval == 0 {
		o.BookmarkInterval = DefaultBookmarkInterval
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	return o
}

// Validate reports the first problem with o (after defaults apply).
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.Codec == nil:
		return errors.New("store options: codec is required")
	case len(o.Endpoints) == 0 && o.DataDir == "":
		return errors.New("store options: data dir is required for an embedded etcd")
	case (o.CertFile == "") != (o.KeyFile == ""):
		return errors.New("store options: cert file and key file go together")
	case o.CompactRetention < 0:
		return errors.New("store options: compact retention must not be negative")
	case o.BookmarkInterval < 0:
		return errors.New("store options: bookmark interval must not be negative")
	case o.StartTimeout < 0:
		return errors.New("store options: start timeout must not be negative")
	}
	return nil
}
