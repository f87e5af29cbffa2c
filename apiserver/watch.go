package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/navarch/navarch/store"
)

// watchEvent is metav1.WatchEvent with the object encoded in place.
type watchEvent struct {
	Type   watch.EventType `json:"type"`
	Object runtime.Object  `json:"object"`
}

// serveWatch answers WATCH: a chunked stream of JSON watch events, one per
// line, flushed after each. A resourceVersion that is compacted gets one
// ERROR event with a 410 Expired Status, which tells client-go to relist.
// With sendInitialEvents (client-go's streaming list), the current objects
// come first as ADDED events, then a BOOKMARK marked
// k8s.io/initial-events-end.
func (s *Server) serveWatch(rr *resourceRequest) {
	opts, err := listOptions(rr)
	if err != nil {
		rr.fail(err)
		return
	}
	if rr.info.Name != "" {
		// The legacy /watch/.../<name> path watches one object.
		opts.FieldSelector = joinSelectors(opts.FieldSelector, "metadata.name="+rr.info.Name)
	}
	out, err := negotiateOutput(rr.r, true, nil)
	if err != nil {
		rr.fail(err)
		return
	}
	if out.yaml {
		// A stream of YAML documents is not something clients read.
		out.yaml = false
	}
	pred, err := predicate(rr, opts)
	if err != nil {
		rr.fail(err)
		return
	}
	if _, err := store.ParseResourceVersion(opts.ResourceVersion); err != nil {
		rr.fail(apierrors.NewBadRequest(err.Error()))
		return
	}
	initial := opts.SendInitialEvents != nil && *opts.SendInitialEvents
	if opts.SendInitialEvents != nil {
		if err := validateStreamingList(opts); err != nil {
			rr.fail(err)
			return
		}
	}

	ctx := rr.ctx()
	key, recursive := rr.prefix(), true
	if pred.Field != nil && (rr.namespace() != "" || !rr.res.Namespaced) {
		if name, ok := pred.Field.RequiresExactMatch("metadata.name"); ok {
			key, recursive = rr.res.StorageKey(rr.namespace(), name), false
		}
	}

	sw := &watchStream{s: s, rr: rr, out: out, first: true}
	var initialItems []runtime.Object
	startRV := opts.ResourceVersion
	switch {
	case initial:
		// Read the state, send it, mark its end, then follow from there.
		res, err := s.store.List(ctx, key, store.ListOptions{ResourceVersion: opts.ResourceVersion, Predicate: pred}, rr.res.New)
		if err != nil {
			sw.failStart(err)
			return
		}
		initialItems = res.Items
		startRV = fmt.Sprint(res.ResourceVersion)
	case opts.SendInitialEvents != nil && (startRV == "" || startRV == "0"):
		// sendInitialEvents=false from "now": no initial state.
		rev, err := s.store.Revision(ctx)
		if err != nil {
			rr.fail(storeError(err, rr.gr(), ""))
			return
		}
		startRV = fmt.Sprint(rev)
	}

	w, err := s.store.Watch(ctx, key, store.WatchOptions{
		ResourceVersion: startRV, Predicate: pred, AllowBookmarks: opts.AllowWatchBookmarks, Recursive: recursive,
	}, rr.res.New)
	if err != nil {
		sw.failStart(err)
		return
	}
	defer w.Stop()
	s.metrics.watchers.WithLabelValues(rr.res.Resource).Inc()
	defer s.metrics.watchers.WithLabelValues(rr.res.Resource).Dec()

	sw.start()
	// The initial state goes out in one burst: flushed once at its end.
	sw.hold = true
	for _, obj := range initialItems {
		if !sw.send(watch.Event{Type: watch.Added, Object: obj}) {
			return
		}
	}
	sw.hold = false
	if initial {
		mark := rr.res.New()
		if m, err := meta.Accessor(mark); err == nil {
			m.SetResourceVersion(startRV)
			m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
		}
		if !sw.send(watch.Event{Type: watch.Bookmark, Object: mark}) {
			return
		}
	}

	timer := time.NewTimer(s.watchTimeout(opts))
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			if ev.Type == watch.Bookmark && !opts.AllowWatchBookmarks {
				continue
			}
			// Flush when no further event is waiting: a burst (the store's
			// initial ADDED events, a transaction) goes out in few writes.
			sw.hold = len(w.ResultChan()) > 0
			if !sw.send(ev) {
				return
			}
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		case <-s.stopping:
			return
		}
	}
}

// validateStreamingList checks the options of a streaming list as
// Kubernetes does.
func validateStreamingList(opts metav1.ListOptions) error {
	if !opts.AllowWatchBookmarks {
		return apierrors.NewBadRequest("allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true")
	}
	if opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
		return apierrors.NewBadRequest(fmt.Sprintf("resourceVersionMatch: Unsupported value: %q: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan", opts.ResourceVersionMatch))
	}
	return nil
}

// watchTimeout is how long a watch runs: timeoutSeconds, or a random time
// between the minimum and twice it.
func (s *Server) watchTimeout(opts metav1.ListOptions) time.Duration {
	if opts.TimeoutSeconds != nil && *opts.TimeoutSeconds > 0 {
		return time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	min := s.opts.MinWatchTimeout
	return min + time.Duration(rand.Int64N(int64(min)))
}

func joinSelectors(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

// watchStream writes the events of one watch response.
type watchStream struct {
	s       *Server
	rr      *resourceRequest
	out     output
	first   bool
	enc     *json.Encoder
	rc      *http.ResponseController
	started bool
	// hold leaves the written events unflushed, more are coming.
	hold bool
}

// start sends the response header; events follow.
func (sw *watchStream) start() {
	h := sw.rr.w.Header()
	h.Set("Content-Type", mediaJSON)
	h.Set("Cache-Control", "no-cache, private")
	sw.rr.warn.write(h)
	sw.rr.w.WriteHeader(http.StatusOK)
	sw.enc = json.NewEncoder(sw.rr.w)
	sw.rc = http.NewResponseController(sw.rr.w)
	_ = sw.rc.Flush()
	sw.started = true
}

// failStart answers a watch that could not start. A compacted
// resourceVersion is reported as Kubernetes does, as an ERROR event with a
// 410 Status in a 200 stream; other errors as a plain error response.
func (sw *watchStream) failStart(err error) {
	if !errors.Is(err, store.ErrCompacted) {
		sw.rr.fail(storeError(err, sw.rr.gr(), ""))
		return
	}
	sw.start()
	st := toStatus(apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %s", sw.rr.query().Get("resourceVersion"))))
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	sw.write(watch.Error, st)
}

// send writes one event; false means the client is gone.
func (sw *watchStream) send(ev watch.Event) bool {
	obj := ev.Object
	if ev.Type == watch.Error {
		if st, ok := obj.(*metav1.Status); ok {
			st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		}
		return sw.write(ev.Type, obj)
	}
	sw.rr.setKind(obj)
	if ev.Type == watch.Bookmark && sw.out.kind == outTable {
		// A bookmark carries only a resourceVersion: an empty table.
		table := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: metaGroup + "/" + sw.out.metaVersion, Kind: asTable}}
		if m, err := meta.Accessor(obj); err == nil {
			table.ResourceVersion = m.GetResourceVersion()
		}
		return sw.write(ev.Type, table)
	}
	if sw.out.kind != outObject {
		var err error
		obj, err = sw.s.transform(sw.rr, sw.out, obj, sw.first)
		if err != nil {
			st := toStatus(err)
			st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
			sw.write(watch.Error, st)
			return false
		}
		sw.first = false
	}
	return sw.write(ev.Type, obj)
}

func (sw *watchStream) write(t watch.EventType, obj runtime.Object) bool {
	if err := sw.enc.Encode(&watchEvent{Type: t, Object: obj}); err != nil {
		return false
	}
	if sw.hold {
		return true
	}
	return sw.rc.Flush() == nil
}
