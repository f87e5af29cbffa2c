package store

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Count returns the number of keys under prefix (a "/" is added when it
// does not end in one).
func (s *Store) Count(ctx context.Context, prefix string) (n int64, err error) {
	start := time.Now()
	prefix = dirPrefix(prefix)
	defer func() { s.observe("count", prefix, start, err) }()
	resp, err := s.client.Get(ctx, prefix, clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithCountOnly())
	if err != nil {
		return 0, etcdError("count", prefix, err)
	}
	return resp.Count, nil
}
