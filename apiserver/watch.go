package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/framer"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/navarch/navarch/store"
)

// watchEvent is metav1.WatchEvent with the object encoded in place.
type watchEvent struct {
	Type   watch.EventType `json:"type"`
	Object runtime.Object  `json:"object"`
}

// watchRequest is a decoded WATCH.
type watchRequest struct {
	opts metav1.ListOptions
	out  output
	pred store.Predicate
	// key is the prefix watched, or one object's key when the field
	// selector names it (recursive false).
	key       string
	recursive bool
	// initial: a streaming list (sendInitialEvents=true).
	initial bool
}

// parseWatch reads and checks the options of a WATCH.
func (s *Server) parseWatch(rr *resourceRequest) (*watchRequest, error) {
	opts, err := listOptions(rr)
	if err != nil {
		return nil, err
	}
	if rr.info.Name != "" {
		// The legacy /watch/.../<name> path watches one object.
		opts.FieldSelector = joinSelectors(opts.FieldSelector, "metadata.name="+rr.info.Name)
	}
	out, err := negotiateOutput(rr.r, true, s.protobufFor(rr.res))
	if err != nil {
		return nil, err
	}
	out.yaml = false // a stream of YAML documents is not something clients read
	pred, err := predicate(rr, opts)
	if err != nil {
		return nil, err
	}
	if _, err := store.ParseResourceVersion(opts.ResourceVersion); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if opts.SendInitialEvents != nil {
		if err := validateStreamingList(opts); err != nil {
			return nil, err
		}
	}
	wr := &watchRequest{opts: opts, out: out, pred: pred, key: rr.prefix(), recursive: true,
		initial: opts.SendInitialEvents != nil && *opts.SendInitialEvents}
	if pred.Field != nil && (rr.namespace() != "" || !rr.res.Namespaced) {
		if name, ok := pred.Field.RequiresExactMatch("metadata.name"); ok {
			wr.key, wr.recursive = rr.res.StorageKey(rr.namespace(), name), false
		}
	}
	return wr, nil
}

// serveWatch answers WATCH: a chunked stream of JSON watch events, one per
// line. A resourceVersion that is compacted gets one ERROR event with a 410
// Expired Status, which tells client-go to relist. With sendInitialEvents
// (client-go's streaming list), the current objects come first as ADDED
// events, then a BOOKMARK marked k8s.io/initial-events-end.
func (s *Server) serveWatch(rr *resourceRequest) {
	wr, err := s.parseWatch(rr)
	if err != nil {
		rr.fail(err)
		return
	}
	ctx := rr.ctx()
	sw := &watchStream{s: s, rr: rr, out: wr.out, first: true}
	var initialItems []runtime.Object
	startRV := wr.opts.ResourceVersion
	switch {
	case wr.initial:
		// Read the state, send it, mark its end, then follow from there.
		// The list reads the resource's prefix (the store lists under
		// prefixes only); the predicate keeps the one object a
		// metadata.name selector names.
		res, err := s.store.List(ctx, rr.prefix(), store.ListOptions{ResourceVersion: startRV, Predicate: wr.pred}, rr.res.New)
		if err != nil {
			sw.failStart(err)
			return
		}
		initialItems, startRV = res.Items, fmt.Sprint(res.ResourceVersion)
	case wr.opts.SendInitialEvents != nil && (startRV == "" || startRV == "0"):
		// sendInitialEvents=false from "now": no initial state.
		rev, err := s.store.Revision(ctx)
		if err != nil {
			rr.fail(storeError(err, rr.gr(), ""))
			return
		}
		startRV = fmt.Sprint(rev)
	}

	w, err := s.store.Watch(ctx, wr.key, store.WatchOptions{
		ResourceVersion: startRV, Predicate: wr.pred, AllowBookmarks: wr.opts.AllowWatchBookmarks, Recursive: wr.recursive,
	}, rr.res.New)
	if err != nil {
		sw.failStart(err)
		return
	}
	defer w.Stop()
	s.metrics.watchers.WithLabelValues(rr.res.Resource).Inc()
	defer s.metrics.watchers.WithLabelValues(rr.res.Resource).Dec()

	sw.start()
	if !sw.sendInitial(initialItems, wr.initial, startRV) {
		return
	}
	s.followWatch(ctx, sw, w, wr.opts)
}

// sendInitial sends the initial state in one burst, flushed once at its
// end, and for a streaming list the bookmark that marks its end. False
// means the client is gone.
func (sw *watchStream) sendInitial(items []runtime.Object, mark bool, rv string) bool {
	sw.hold = true
	for _, obj := range items {
		if !sw.send(watch.Event{Type: watch.Added, Object: obj}) {
			return false
		}
	}
	sw.hold = false
	if !mark {
		return true
	}
	bookmark := sw.rr.res.New()
	if m, err := meta.Accessor(bookmark); err == nil {
		m.SetResourceVersion(rv)
		m.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return sw.send(watch.Event{Type: watch.Bookmark, Object: bookmark})
}

// followWatch relays the store's events until the watch times out, the
// client goes, the store ends the watch or the server shuts down.
func (s *Server) followWatch(ctx context.Context, sw *watchStream, w watch.Interface, opts metav1.ListOptions) {
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
	// frames, for a protobuf stream, writes length-delimited frames.
	frames io.Writer
	buf    bytes.Buffer
}

// start sends the response header; events follow.
func (sw *watchStream) start() {
	h := sw.rr.w.Header()
	h.Set("Content-Type", mediaJSON)
	if sw.out.protobuf != nil {
		h.Set("Content-Type", mediaProtobuf+";stream=watch")
		sw.frames = framer.NewLengthDelimitedFrameWriter(sw.rr.w)
	}
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
	sw.write(watch.Error, toStatus(apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %s", sw.rr.query().Get("resourceVersion")))))
}

// send writes one event; false means the client is gone.
func (sw *watchStream) send(ev watch.Event) bool {
	obj := ev.Object
	if ev.Type == watch.Error {
		if st, ok := obj.(*metav1.Status); ok {
			st.TypeMeta = statusTypeMeta
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
		obj, err = sw.s.transform(sw.out, obj, sw.first)
		if err != nil {
			sw.write(watch.Error, toStatus(err))
			return false
		}
		sw.first = false
	}
	return sw.write(ev.Type, obj)
}

func (sw *watchStream) write(t watch.EventType, obj runtime.Object) bool {
	if sw.frames != nil {
		if !sw.writeFrame(t, obj) {
			return false
		}
	} else if err := sw.enc.Encode(&watchEvent{Type: t, Object: obj}); err != nil {
		return false
	}
	if sw.hold {
		return true
	}
	return sw.rc.Flush() == nil
}

// writeFrame writes one event of a protobuf stream, as client-go reads it:
// a length-delimited metav1.WatchEvent whose object is in the protobuf
// envelope.
func (sw *watchStream) writeFrame(t watch.EventType, obj runtime.Object) bool {
	sw.buf.Reset()
	if err := sw.out.protobuf.Encode(obj, &sw.buf); err != nil {
		sw.s.log.Error("encode watch event", "resource", sw.rr.res.Resource, "err", err)
		return false
	}
	ev := &metav1.WatchEvent{Type: string(t), Object: runtime.RawExtension{Raw: sw.buf.Bytes()}}
	data, err := ev.Marshal()
	if err != nil {
		sw.s.log.Error("encode watch event", "resource", sw.rr.res.Resource, "err", err)
		return false
	}
	_, err = sw.frames.Write(data)
	return err == nil
}
