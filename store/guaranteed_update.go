package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
)

// maxUpdateAttempts bounds GuaranteedUpdate's retries on write conflicts.
const maxUpdateAttempts = 100

// GuaranteedUpdate reads the object at key, passes it to tryUpdate and
// stores what tryUpdate returns, if the object did not change meanwhile; if
// it did, it reads it again and retries. current is a fresh object of out's
// type on every attempt (an empty one with exists false when key holds
// nothing and ignoreNotFound is set; without ignoreNotFound a missing object
// is ErrNotFound). An error from tryUpdate aborts and is returned as is.
//
// The result is decoded into out with its resourceVersion. When tryUpdate
// returns an object that encodes to the stored bytes, nothing is written and
// out holds the current object with its resourceVersion. After
// maxUpdateAttempts conflicts it returns ErrConflict.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, out runtime.Object, ignoreNotFound bool,
	tryUpdate func(current runtime.Object, exists bool) (runtime.Object, error)) (err error) {
	start := time.Now()
	defer func() { s.observe("update", key, start, err) }()
	for attempt := 0; attempt < maxUpdateAttempts; attempt++ {
		done, err := s.tryGuaranteedUpdate(ctx, key, out, ignoreNotFound, tryUpdate)
		if err != nil || done {
			return err
		}
	}
	return fmt.Errorf("update %s: %w (after %d attempts)", key, ErrConflict, maxUpdateAttempts)
}

// tryGuaranteedUpdate makes one attempt; done is false on a write conflict.
func (s *Store) tryGuaranteedUpdate(ctx context.Context, key string, out runtime.Object, ignoreNotFound bool,
	tryUpdate func(current runtime.Object, exists bool) (runtime.Object, error)) (done bool, err error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return false, etcdError("update", key, err)
	}
	current := newLike(out)
	var (
		found   = len(resp.Kvs) > 0
		curData []byte
		curRev  int64
	)
	if found {
		curData, curRev = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
		if err := s.decode(curData, current, curRev); err != nil {
			return false, fmt.Errorf("update %s: %w", key, err)
		}
	} else if !ignoreNotFound {
		return false, fmt.Errorf("update %s: %w", key, ErrNotFound)
	}

	updated, err := tryUpdate(current, found)
	if err != nil {
		return false, err
	}
	data, err := s.encode(updated)
	if err != nil {
		return false, fmt.Errorf("update %s: %w", key, err)
	}
	if found && bytes.Equal(data, curData) {
		if err := s.decode(curData, out, curRev); err != nil {
			return false, fmt.Errorf("update %s: %w", key, err)
		}
		return true, nil
	}

	cmp := notExists(key)
	if found {
		cmp = modifiedAt(key, curRev)
	}
	txn, err := s.client.Txn(ctx).If(cmp).Then(clientv3.OpPut(key, string(data))).Commit()
	if err != nil {
		return false, etcdError("update", key, err)
	}
	if !txn.Succeeded {
		return false, nil
	}
	if err := s.decode(data, out, txn.Header.Revision); err != nil {
		return false, fmt.Errorf("update %s: %w", key, err)
	}
	return true, nil
}
