package store

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Txn applies ops in one etcd transaction: all of them or none. A create
// needs its key free (else ErrExists); an update or delete needs its key
// to hold an object (else ErrNotFound) last written at the op's
// ResourceVersion when that is non-zero (else ErrConflict). The first
// failing op's error, wrapped with its key, is returned and nothing is
// written. ErrTooLarge means etcd refused the transaction's size or
// operation count: the caller may split it.
//
// Two ops on one key are refused before anything is sent.
//
// On success it returns the transaction's revision, and every op's Object
// has that resourceVersion; a delete's Object, when not nil, receives the
// deleted object's last state.
func (s *Store) Txn(ctx context.Context, ops []Op) (rev int64, err error) {
	if len(ops) == 0 {
		return s.Revision(ctx)
	}
	start := time.Now()
	defer func() { s.observe("txn", ops[0].Key, start, err) }()
	seen := make(map[string]int, len(ops))
	for i, op := range ops {
		if j, dup := seen[op.Key]; dup {
			return 0, fmt.Errorf("txn: ops %d and %d both touch %s", j, i, op.Key)
		}
		seen[op.Key] = i
	}
	cmps := make([]clientv3.Cmp, len(ops))
	thens := make([]clientv3.Op, len(ops))
	elses := make([]clientv3.Op, len(ops))
	for i, op := range ops {
		switch op.Type {
		case OpCreate, OpUpdate:
			data, err := s.encode(op.Object)
			if err != nil {
				return 0, fmt.Errorf("txn: op %d %s: %w", i, op.Key, err)
			}
			thens[i] = clientv3.OpPut(op.Key, string(data))
		case OpDelete:
			thens[i] = clientv3.OpDelete(op.Key, clientv3.WithPrevKV())
		default:
			return 0, fmt.Errorf("txn: op %d %s: unknown op type %d", i, op.Key, op.Type)
		}
		cmps[i] = opCompare(op)
		elses[i] = clientv3.OpGet(op.Key, clientv3.WithKeysOnly())
	}
	resp, err := s.client.Txn(ctx).If(cmps...).Then(thens...).Else(elses...).Commit()
	if err != nil {
		return 0, etcdError("txn", fmt.Sprintf("of %d ops from %s", len(ops), ops[0].Key), err)
	}
	if !resp.Succeeded {
		return 0, txnFailure(ops, resp)
	}
	rev = resp.Header.Revision
	for i, op := range ops {
		if op.Object == nil {
			continue
		}
		if op.Type == OpDelete {
			if prev := resp.Responses[i].GetResponseDeleteRange().PrevKvs; len(prev) > 0 {
				if err := s.decode(prev[0].Value, op.Object, rev); err != nil {
					return rev, fmt.Errorf("txn: op %d %s: %w", i, op.Key, err)
				}
			}
			continue
		}
		if err := setResourceVersion(op.Object, rev); err != nil {
			return rev, fmt.Errorf("txn: op %d %s: %w", i, op.Key, err)
		}
	}
	return rev, nil
}

// opCompare is the condition op needs to apply.
func opCompare(op Op) clientv3.Cmp {
	if op.Type == OpCreate {
		return notExists(op.Key)
	}
	return precondition(op.Key, op.ResourceVersion)
}

// txnFailure names the first op whose condition did not hold, from the
// keys' state the failed transaction read.
func txnFailure(ops []Op, resp *clientv3.TxnResponse) error {
	for i, op := range ops {
		var kv *mvccpb.KeyValue
		if kvs := resp.Responses[i].GetResponseRange().Kvs; len(kvs) > 0 {
			kv = kvs[0]
		}
		switch {
		case op.Type == OpCreate && kv != nil:
			return fmt.Errorf("txn: op %d: create %s: %w", i, op.Key, ErrExists)
		case op.Type != OpCreate && kv == nil:
			return fmt.Errorf("txn: op %d: %s %s: %w", i, opVerb(op.Type), op.Key, ErrNotFound)
		case op.Type != OpCreate && op.ResourceVersion != 0 && kv.ModRevision != op.ResourceVersion:
			return fmt.Errorf("txn: op %d: %s %s: %w", i, opVerb(op.Type), op.Key, ErrConflict)
		}
	}
	return fmt.Errorf("txn: %w", ErrConflict)
}

func opVerb(t OpType) string {
	switch t {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return "op"
}
