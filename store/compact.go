package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// compactRevKey holds the revision of the newest compaction; its version
// counts compactions. Servers sharing a cluster compare-and-swap it, as
// kube-apiserver does, so that only one of them compacts per interval.
const compactRevKey = "compact_rev_key"

// Compact discards the history before revision rev: reads and watches at
// an older revision fail with ErrCompacted afterwards. Compacting to a
// revision at or before the last compaction is a no-op.
func (s *Store) Compact(ctx context.Context, rev int64) (err error) {
	start := time.Now()
	defer func() { s.observe("compact", compactRevKey, start, err) }()
	if _, err := s.client.Compact(ctx, rev); err != nil && !isCompacted(err) {
		return etcdError("compact to", strconv.FormatInt(rev, 10), err)
	}
	return nil
}

// revisionSample is the store's revision read at a time.
type revisionSample struct {
	at  time.Time
	rev int64
}

// compactLoop samples the revision every CompactInterval and compacts to
// the newest sample at least CompactRetention old, so that every change of
// the last CompactRetention stays in the history.
func (s *Store) compactLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.CompactInterval)
	defer t.Stop()
	var (
		samples []revisionSample
		version int64 // compactRevKey's version as this server last saw it
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rev, err := s.Revision(ctx)
		if err != nil {
			s.log.Warn("compaction: read revision", "err", err)
			continue
		}
		now := time.Now()
		samples = append(samples, revisionSample{at: now, rev: rev})
		target, rest := compactTarget(samples, now, s.opts.CompactRetention)
		samples = rest
		if target == 0 {
			continue
		}
		if version, err = s.compactShared(ctx, version, target); err != nil && ctx.Err() == nil {
			s.log.Warn("compaction failed", "revision", target, "err", err)
		}
	}
}

// compactTarget returns the revision of the newest sample at least
// retention old (0 when none is) and the samples newer than it.
func compactTarget(samples []revisionSample, now time.Time, retention time.Duration) (int64, []revisionSample) {
	i := -1
	for j, smp := range samples {
		if now.Sub(smp.at) >= retention {
			i = j
		}
	}
	if i < 0 {
		return 0, samples
	}
	return samples[i].rev, samples[i+1:]
}

// compactShared compacts to rev unless another server sharing the cluster
// compacted since this one last saw compactRevKey at version. It returns
// the key's version as it now stands.
func (s *Store) compactShared(ctx context.Context, version, rev int64) (int64, error) {
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(compactRevKey), "=", version)).
		Then(clientv3.OpPut(compactRevKey, strconv.FormatInt(rev, 10))).
		Else(clientv3.OpGet(compactRevKey)).
		Commit()
	if err != nil {
		return version, etcdError("compact to", strconv.FormatInt(rev, 10), err)
	}
	if !resp.Succeeded {
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			return kvs[0].Version, nil
		}
		return 0, nil
	}
	if err := s.Compact(ctx, rev); err != nil {
		return version + 1, fmt.Errorf("compact: %w", err)
	}
	s.log.Debug("compacted", "revision", rev)
	return version + 1, nil
}
