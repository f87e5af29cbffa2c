package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// watchBuffer is the number of events a watcher holds for a slow reader
// before it stops reading from etcd.
const watchBuffer = 100

// Watch streams the changes of the object at key (or, with
// opts.Recursive, of every object under the prefix key, to which a "/" is
// added when it does not end in one) as watch events;
// see WatchOptions for where it starts and what it sends. It returns
// ErrCompacted at once when the starting revision is compacted; when
// compaction overtakes a running watch, the last event is a watch.Error
// carrying a 410 Expired Status. With a Predicate, an object entering the
// selection is ADDED, one leaving it is DELETED (with its old state) and
// one staying is MODIFIED. DELETED events carry the object's last state
// with resourceVersion set to the revision of the delete.
//
// The watch ends when ctx ends or Stop is called; then the result channel
// is closed.
func (s *Store) Watch(ctx context.Context, key string, opts WatchOptions, newItem func() runtime.Object) (_ watch.Interface, err error) {
	start := time.Now()
	defer func() { s.observe("watch", key, start, err) }()
	rev, err := ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", key, err)
	}
	var rangeOpts []clientv3.OpOption
	if opts.Recursive {
		key = dirPrefix(key)
		rangeOpts = append(rangeOpts, clientv3.WithPrefix())
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	var initial []*mvccpb.KeyValue
	if rev == 0 {
		resp, err := s.client.Get(wctx, key, rangeOpts...)
		if err != nil {
			cancel()
			return nil, etcdError("watch", key, err)
		}
		initial, rev = resp.Kvs, resp.Header.Revision
	} else if err := s.checkNotCompacted(wctx, key, rev+1); err != nil {
		cancel()
		return nil, err
	}
	w := &watcher{
		s: s, key: key, opts: opts, newItem: newItem,
		ctx: wctx, cancel: cancel,
		result:  make(chan watch.Event, watchBuffer),
		lastRev: rev,
	}
	watchOpts := append(rangeOpts, clientv3.WithRev(rev+1), clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	wch := s.client.Watch(wctx, key, watchOpts...)
	go w.run(initial, wch)
	return w, nil
}

// checkNotCompacted returns ErrCompacted when a watch starting at rev
// would find it compacted: etcd refuses a read at rev then too.
func (s *Store) checkNotCompacted(ctx context.Context, key string, rev int64) error {
	_, err := s.client.Get(ctx, key, clientv3.WithRev(rev), clientv3.WithCountOnly())
	if err == nil || errors.Is(err, rpctypes.ErrFutureRev) || errors.Is(err, rpctypes.ErrGRPCFutureRev) {
		return nil
	}
	return etcdError("watch", key, err)
}

// watcher is one running Watch.
type watcher struct {
	s       *Store
	key     string
	opts    WatchOptions
	newItem func() runtime.Object
	ctx     context.Context
	cancel  context.CancelFunc
	result  chan watch.Event
	lastRev int64 // the newest revision all events up to which were sent
}

// ResultChan returns the events; it is closed when the watch ends.
func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

// Stop ends the watch. It is idempotent.
func (w *watcher) Stop() { w.cancel() }

func (w *watcher) run(initial []*mvccpb.KeyValue, wch clientv3.WatchChan) {
	defer close(w.result)
	defer w.cancel()
	for _, kv := range initial {
		obj := w.newItem()
		if err := w.s.decode(kv.Value, obj, kv.ModRevision); err != nil {
			w.fail(fmt.Errorf("watch %s: key %s: %w", w.key, kv.Key, err))
			return
		}
		if ok, err := w.opts.Predicate.Matches(obj); err != nil {
			w.fail(fmt.Errorf("watch %s: %w", w.key, err))
			return
		} else if ok && !w.send(watch.Event{Type: watch.Added, Object: obj}) {
			return
		}
	}

	var tick <-chan time.Time
	if w.opts.AllowBookmarks && w.s.opts.BookmarkInterval > 0 {
		t := time.NewTicker(w.s.opts.BookmarkInterval)
		defer t.Stop()
		tick = t.C
	}
	bookmarkDue := false
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-tick:
			// etcd answers with a progress notification once this watch
			// has sent every event up to the revision it carries.
			bookmarkDue = true
			if err := w.s.client.RequestProgress(w.ctx); err != nil && w.ctx.Err() == nil {
				w.s.log.Debug("watch progress request failed", "key", w.key, "err", err)
			}
		case resp, ok := <-wch:
			if !ok {
				if w.ctx.Err() == nil {
					w.fail(fmt.Errorf("watch %s: etcd closed the watch", w.key))
				}
				return
			}
			if !w.handle(resp, &bookmarkDue) {
				return
			}
		}
	}
}

// handle sends the events of one etcd response; false ends the watch.
func (w *watcher) handle(resp clientv3.WatchResponse, bookmarkDue *bool) bool {
	if err := resp.Err(); err != nil {
		if resp.CompactRevision != 0 || isCompacted(err) {
			w.sendError(apierrors.NewResourceExpired(fmt.Sprintf(
				"the resourceVersion of this watch is too old: compacted to %d", resp.CompactRevision)))
			return false
		}
		w.fail(fmt.Errorf("watch %s: %w", w.key, err))
		return false
	}
	if resp.IsProgressNotify() {
		if resp.Header.Revision > w.lastRev {
			w.lastRev = resp.Header.Revision
		}
		if *bookmarkDue && w.opts.AllowBookmarks {
			*bookmarkDue = false
			return w.sendBookmark()
		}
		return true
	}
	for _, ev := range resp.Events {
		out, ok, err := w.translate(ev)
		if err != nil {
			w.fail(fmt.Errorf("watch %s: key %s: %w", w.key, ev.Kv.Key, err))
			return false
		}
		if ok && !w.send(out) {
			return false
		}
		if ev.Kv.ModRevision > w.lastRev {
			w.lastRev = ev.Kv.ModRevision
		}
	}
	return true
}

// translate turns an etcd event into the watch event the Predicate sees;
// ok is false when the change is outside the selection.
func (w *watcher) translate(ev *clientv3.Event) (out watch.Event, ok bool, err error) {
	rev := ev.Kv.ModRevision
	if ev.Type == clientv3.EventTypeDelete {
		if ev.PrevKv == nil {
			return out, false, errors.New("delete event without the previous value")
		}
		old, match, err := w.object(ev.PrevKv.Value, rev)
		if err != nil || !match {
			return out, false, err
		}
		return watch.Event{Type: watch.Deleted, Object: old}, true, nil
	}
	cur, curMatch, err := w.object(ev.Kv.Value, rev)
	if err != nil {
		return out, false, err
	}
	if ev.IsCreate() {
		return watch.Event{Type: watch.Added, Object: cur}, curMatch, nil
	}
	if w.opts.Predicate.Empty() {
		return watch.Event{Type: watch.Modified, Object: cur}, true, nil
	}
	if ev.PrevKv == nil {
		// The previous state is compacted (the watch starts at the
		// compaction revision): whether the object was selected before is
		// unknown, so a selected one is MODIFIED and one outside DELETED,
		// which a client that never saw it ignores.
		if curMatch {
			return watch.Event{Type: watch.Modified, Object: cur}, true, nil
		}
		return watch.Event{Type: watch.Deleted, Object: cur}, true, nil
	}
	old, oldMatch, err := w.object(ev.PrevKv.Value, rev)
	if err != nil {
		return out, false, err
	}
	switch {
	case curMatch && oldMatch:
		return watch.Event{Type: watch.Modified, Object: cur}, true, nil
	case curMatch:
		return watch.Event{Type: watch.Added, Object: cur}, true, nil
	case oldMatch:
		return watch.Event{Type: watch.Deleted, Object: old}, true, nil
	}
	return out, false, nil
}

// object decodes data with resourceVersion rev and matches it.
func (w *watcher) object(data []byte, rev int64) (runtime.Object, bool, error) {
	obj := w.newItem()
	if err := w.s.decode(data, obj, rev); err != nil {
		return nil, false, err
	}
	ok, err := w.opts.Predicate.Matches(obj)
	return obj, ok, err
}

func (w *watcher) sendBookmark() bool {
	obj := w.newItem()
	if err := setResourceVersion(obj, w.lastRev); err != nil {
		w.fail(fmt.Errorf("watch %s: bookmark: %w", w.key, err))
		return false
	}
	return w.send(watch.Event{Type: watch.Bookmark, Object: obj})
}

// send delivers ev unless the watch ends first.
func (w *watcher) send(ev watch.Event) bool {
	select {
	case w.result <- ev:
		return true
	case <-w.ctx.Done():
		return false
	}
}

// fail logs err and sends it as an internal error event.
func (w *watcher) fail(err error) {
	w.s.log.Error("watch failed", "key", w.key, "err", err)
	w.sendError(apierrors.NewInternalError(err))
}

func (w *watcher) sendError(err *apierrors.StatusError) {
	st := err.ErrStatus
	w.send(watch.Event{Type: watch.Error, Object: &st})
}
