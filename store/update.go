package store

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
)

// Update stores obj over the object at key. When obj's resourceVersion is
// set, the stored object's must equal it (else ErrConflict); an empty one
// updates unconditionally. It returns ErrNotFound when key holds nothing.
// On success obj's resourceVersion is the revision of the write.
func (s *Store) Update(ctx context.Context, key string, obj runtime.Object) (err error) {
	start := time.Now()
	defer func() { s.observe("update", key, start, err) }()
	rv, err := resourceVersionOf(obj)
	if err != nil {
		return fmt.Errorf("update %s: %w", key, err)
	}
	data, err := s.encode(obj)
	if err != nil {
		return fmt.Errorf("update %s: %w", key, err)
	}
	resp, err := s.client.Txn(ctx).
		If(precondition(key, rv)).
		Then(clientv3.OpPut(key, string(data))).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return etcdError("update", key, err)
	}
	if !resp.Succeeded {
		return preconditionFailed("update", key, resp)
	}
	return setResourceVersion(obj, resp.Header.Revision)
}
