package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
)

// maxListBatch caps how many keys one etcd read of a filtered, limited list
// fetches.
const maxListBatch = 10000

// List returns the objects under prefix (a "/" is added when it does not
// end in one) that match opts.Predicate, all read
// at one revision (see ListOptions for which). newItem returns an empty
// object to decode each item into.
//
// With opts.Limit, at most Limit items come back with a Continue token
// when more keys remain; the token reads the next page at the same
// revision. With a selector and a limit, List keeps reading until the page
// is full or the keys run out, so a page is short only at the end.
//
// It returns ErrCompacted when the revision to read at (an exact
// ResourceVersion, or a continue token's) is compacted, and
// ErrInvalidContinue for a token of another list.
func (s *Store) List(ctx context.Context, prefix string, opts ListOptions, newItem func() runtime.Object) (res *ListResult, err error) {
	start := time.Now()
	prefix = dirPrefix(prefix)
	defer func() { s.observe("list", prefix, start, err) }()
	if opts.Limit < 0 {
		return nil, fmt.Errorf("list %s: negative limit", prefix)
	}
	key, rev, err := listStart(prefix, opts)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	l := lister{s: s, prefix: prefix, end: clientv3.GetPrefixRangeEnd(prefix), rev: rev, opts: opts, newItem: newItem}
	if err := l.run(ctx, key); err != nil {
		return nil, err
	}
	return &l.res, nil
}

// dirPrefix returns prefix ending in "/", so that listing the namespace
// "a" does not also list "ab".
func dirPrefix(prefix string) string {
	if !strings.HasSuffix(prefix, "/") {
		return prefix + "/"
	}
	return prefix
}

// listStart returns the first key and the revision to read at (0: the
// newest).
func listStart(prefix string, opts ListOptions) (string, int64, error) {
	if opts.Continue != "" {
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
			return "", 0, fmt.Errorf("%w: a resourceVersion is not allowed with a continue token", ErrInvalidContinue)
		}
		return decodeContinue(opts.Continue, prefix)
	}
	rv, err := ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return "", 0, err
	}
	if opts.Exact || opts.Limit > 0 {
		// An exact read; a paged one is exact anyway, since a later page
		// reads at the revision of the first.
		return prefix, rv, nil
	}
	// Not older than rv: the newest data is.
	return prefix, 0, nil
}

// lister reads the pages of one List.
type lister struct {
	s       *Store
	prefix  string
	end     string
	rev     int64
	opts    ListOptions
	newItem func() runtime.Object
	res     ListResult
}

func (l *lister) run(ctx context.Context, key string) error {
	limit := l.opts.Limit
	batch := limit
	filtered := !l.opts.Predicate.Empty()
	for {
		getOpts := []clientv3.OpOption{clientv3.WithRange(l.end)}
		if l.rev > 0 {
			getOpts = append(getOpts, clientv3.WithRev(l.rev))
		}
		if limit > 0 {
			getOpts = append(getOpts, clientv3.WithLimit(batch))
		}
		resp, err := l.s.client.Get(ctx, key, getOpts...)
		if err != nil {
			return etcdError("list", l.prefix, err)
		}
		if l.rev == 0 {
			l.rev = resp.Header.Revision // every later read is at this one
		}
		for _, kv := range resp.Kvs {
			if limit > 0 && int64(len(l.res.Items)) == limit {
				// The page is full and kv is the first key of the next.
				return l.finish(string(kv.Key), nil)
			}
			obj := l.newItem()
			if err := l.s.decode(kv.Value, obj, kv.ModRevision); err != nil {
				return fmt.Errorf("list %s: key %s: %w", l.prefix, kv.Key, err)
			}
			ok, err := l.opts.Predicate.Matches(obj)
			if err != nil {
				return fmt.Errorf("list %s: key %s: %w", l.prefix, kv.Key, err)
			}
			if ok {
				l.res.Items = append(l.res.Items, obj)
			}
		}
		if limit == 0 || !resp.More {
			return l.finish("", nil)
		}
		next := string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		if int64(len(l.res.Items)) == limit {
			var remaining *int64
			if !filtered {
				n := resp.Count - int64(len(resp.Kvs))
				remaining = &n
			}
			return l.finish(next, remaining)
		}
		key = next
		if filtered && batch < maxListBatch {
			batch = min(batch*2, maxListBatch)
		}
	}
}

// finish sets the result's revision and, when next is not empty, the token
// of the page starting at next.
func (l *lister) finish(next string, remaining *int64) error {
	l.res.ResourceVersion = l.rev
	if next == "" {
		return nil
	}
	token, err := encodeContinue(l.prefix, next, l.rev)
	if err != nil {
		return fmt.Errorf("list %s: %w", l.prefix, err)
	}
	l.res.Continue = token
	l.res.RemainingItemCount = remaining
	return nil
}
