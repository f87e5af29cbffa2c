package store

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
)

// Delete removes the object at key. When resourceVersion is non-zero, the
// stored object's must equal it (else ErrConflict). It returns ErrNotFound
// when key holds nothing. out, when not nil, receives the deleted object's
// last state with resourceVersion set to the revision of the delete (as
// the DELETED watch event carries it).
func (s *Store) Delete(ctx context.Context, key string, out runtime.Object, resourceVersion int64) (err error) {
	start := time.Now()
	defer func() { s.observe("delete", key, start, err) }()
	resp, err := s.client.Txn(ctx).
		If(precondition(key, resourceVersion)).
		Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).
		Else(clientv3.OpGet(key, clientv3.WithKeysOnly())).
		Commit()
	if err != nil {
		return etcdError("delete", key, err)
	}
	if !resp.Succeeded {
		return preconditionFailed("delete", key, resp)
	}
	del := resp.Responses[0].GetResponseDeleteRange()
	if del.Deleted == 0 || len(del.PrevKvs) == 0 {
		return fmt.Errorf("delete %s: %w", key, ErrNotFound)
	}
	if out != nil {
		if err := s.decode(del.PrevKvs[0].Value, out, resp.Header.Revision); err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
	}
	return nil
}
