package webhook

import (
	"container/list"
	"sync"
)

// DefaultDedupeSize is how many delivery ids a Deduper remembers by
// default.
const DefaultDedupeSize = 4096

// Deduper remembers the most recent delivery ids (a bounded LRU), so that
// a delivery sent twice (a host's retry, a replayed request) is acted on
// once. It is safe for concurrent use.
type Deduper struct {
	mu    sync.Mutex
	size  int
	order *list.List // front: most recently seen
	index map[string]*list.Element
}

// NewDeduper returns a Deduper remembering size ids (DefaultDedupeSize
// when size is zero or negative).
func NewDeduper(size int) *Deduper {
	if size <= 0 {
		size = DefaultDedupeSize
	}
	return &Deduper{size: size, order: list.New(), index: map[string]*list.Element{}}
}

// Seen records id and reports whether it was recorded already. The empty
// id is never recorded: deliveries without an id are always new. Callers
// scope ids per Source ("<namespace>/<name>/<id>") and call Seen only
// after Verify accepted the request.
func (d *Deduper) Seen(id string) bool {
	if id == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.index[id]; ok {
		d.order.MoveToFront(el)
		return true
	}
	d.index[id] = d.order.PushFront(id)
	if d.order.Len() > d.size {
		oldest := d.order.Back()
		d.order.Remove(oldest)
		delete(d.index, oldest.Value.(string))
	}
	return false
}
