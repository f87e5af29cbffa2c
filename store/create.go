package store

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
)

// Create stores obj at key, which must not hold an object (else
// ErrExists). obj's resourceVersion must be empty; on success it is set to
// the revision of the write.
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object) (err error) {
	start := time.Now()
	defer func() { s.observe("create", key, start, err) }()
	if rv, err := resourceVersionOf(obj); err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	} else if rv != 0 {
		return fmt.Errorf("create %s: resourceVersion must not be set on create", key)
	}
	data, err := s.encode(obj)
	if err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	resp, err := s.client.Txn(ctx).
		If(notExists(key)).
		Then(clientv3.OpPut(key, string(data))).
		Commit()
	if err != nil {
		return etcdError("create", key, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("create %s: %w", key, ErrExists)
	}
	return setResourceVersion(obj, resp.Header.Revision)
}

// notExists compares true when key holds no object.
func notExists(key string) clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
}

// exists compares true when key holds an object.
func exists(key string) clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(key), ">", 0)
}

// modifiedAt compares true when key's last write was at revision rev.
func modifiedAt(key string, rev int64) clientv3.Cmp {
	return clientv3.Compare(clientv3.ModRevision(key), "=", rev)
}

// precondition is the compare of an update or delete of key: the key
// holds an object, last written at rev when rev is not 0.
func precondition(key string, rev int64) clientv3.Cmp {
	if rev != 0 {
		return modifiedAt(key, rev)
	}
	return exists(key)
}

// preconditionFailed names why an update or delete of key whose
// precondition failed did not apply: resp is a transaction whose Else
// read the key (keys only) first.
func preconditionFailed(verb, key string, resp *clientv3.TxnResponse) error {
	if len(resp.Responses[0].GetResponseRange().Kvs) == 0 {
		return fmt.Errorf("%s %s: %w", verb, key, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", verb, key, ErrConflict)
}
