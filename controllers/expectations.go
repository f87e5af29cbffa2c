package controllers

import (
	"sync"
	"time"
)

// expectationsTTL bounds how long a controller waits for the informer to
// show writes it made before it acts again anyway (Kubernetes' 5 min).
const expectationsTTL = 5 * time.Minute

// expectations remember, per controller key, the pod creations and
// deletions a controller has asked for and not yet seen in its informer,
// as Kubernetes' UIDTrackingControllerExpectations do: until they are
// seen the controller does not count pods again, so a slow watch cannot
// make it create or delete twice. Safe for concurrent use.
type expectations struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*expectation
}

type expectation struct {
	adds      int
	deletions map[string]struct{} // pod keys expected to go
	at        time.Time
}

func newExpectations(now func() time.Time) *expectations {
	return &expectations{now: now, m: make(map[string]*expectation)}
}

// satisfied reports whether the controller may act on key: nothing is
// expected, or what was expected has been seen, or it expired.
func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.deletions) == 0 {
		return true
	}
	return e.now().Sub(x.at) > expectationsTTL
}

// expect records adds creations and the deletion of podKeys for key,
// replacing what was expected before.
func (e *expectations) expect(key string, adds int, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{adds: adds, deletions: make(map[string]struct{}, len(podKeys)), at: e.now()}
	for _, k := range podKeys {
		x.deletions[k] = struct{}{}
	}
	e.m[key] = x
}

// creationObserved lowers the expected creations by one (also used for a
// creation that failed and will not be seen).
func (e *expectations) creationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.adds--
	}
}

// deletionObserved marks podKey's deletion as seen (or as failed).
func (e *expectations) deletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.deletions, podKey)
	}
}

// forget drops key's expectations (its controller was deleted).
func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
