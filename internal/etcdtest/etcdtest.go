// Package etcdtest starts a real, embedded etcd-backed store for tests.
//
// Start gives each test its own etcd in t.TempDir(), reached over a unix
// socket, so tests run in parallel without sharing state or ports. The
// store encodes with api.LegacyCodec over every served group-version (as
// the API server's store does), never compacts on its own (tests call
// Store.Compact), sends watch bookmarks every BookmarkInterval and runs
// without fsync for speed. It is closed in t.Cleanup.
package etcdtest

import (
	"context"
	"testing"
	"time"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/store"
)

// BookmarkInterval is how often watches of a test store get a bookmark.
const BookmarkInterval = 250 * time.Millisecond

// Options returns the options Start uses: a fresh data dir under
// t.TempDir(), api.LegacyCodec, compaction off, BookmarkInterval, no fsync.
func Options(t testing.TB) store.Options {
	t.Helper()
	return store.Options{
		DataDir:          t.TempDir(),
		Codec:            api.LegacyCodec(api.GroupVersions()...),
		CompactInterval:  -1,
		BookmarkInterval: BookmarkInterval,
		StartTimeout:     30 * time.Second,
		UnsafeNoFsync:    true,
	}
}

// Start starts a store with Options(t) and closes it when the test ends.
func Start(t testing.TB) *store.Store {
	t.Helper()
	return StartWith(t, Options(t))
}

// StartWith starts a store with opts and closes it when the test ends.
func StartWith(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	s, err := store.New(context.Background(), opts)
	if err != nil {
		t.Fatalf("start store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}
