package store

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
)

// Get reads the object at key into out and sets out's resourceVersion to
// the revision of its last write. It returns ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, key string, out runtime.Object) (err error) {
	start := time.Now()
	defer func() { s.observe("get", key, start, err) }()
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return etcdError("get", key, err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	kv := resp.Kvs[0]
	if err := s.decode(kv.Value, out, kv.ModRevision); err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	return nil
}
