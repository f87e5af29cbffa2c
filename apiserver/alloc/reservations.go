package alloc

import (
	"strings"
	"sync"
	"time"
)

// DefaultReservationTTL is how long Reservations remember a value: far
// longer than a writer takes from admitting a batch to committing it.
const DefaultReservationTTL = time.Minute

// Reservations remember, for a while, the values that plans made with
// WithReservations took, so that later plans for other Services neither
// draw them nor grant them on request. They serve writers that plan
// several Services before committing them all in one transaction (the
// reconciler's revisions, through the API server's Admit): without them,
// two Services of one batch could be planned onto one free value, and the
// transaction would fail.
//
// A Service is known here by namespace and name, not uid: a batch planned
// again (after a failed commit) gives its new objects new uids but the
// same names, and must get its values back. The keys in etcd stay the
// only lock; reservations only keep a batch from colliding with itself.
// Expired reservations are dropped as plans go. Safe for concurrent use.
type Reservations struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	held map[string]reservation // allocation key → holder
}

type reservation struct {
	owner string // namespace/name
	at    time.Time
}

// NewReservations returns empty Reservations that forget a value ttl after
// it was planned (DefaultReservationTTL when ttl is 0), on the clock now
// (time.Now when nil).
func NewReservations(ttl time.Duration, now func() time.Time) *Reservations {
	if ttl == 0 {
		ttl = DefaultReservationTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Reservations{ttl: ttl, now: now, held: map[string]reservation{}}
}

// PlanOption changes how PlanCreate and PlanUpdate plan.
type PlanOption func(*planner)

// WithReservations makes a plan keep off the values r holds for other
// Services, and adds the values it takes to r.
func WithReservations(r *Reservations) PlanOption {
	return func(pl *planner) { pl.res = r }
}

func reservationOwner(o Owner) string { return o.Namespace + "/" + o.Name }

// heldByOther reports whether key is reserved for another Service than
// owner.
func (r *Reservations) heldByOther(key, owner string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.held[key]
	return ok && h.owner != owner && r.now().Sub(h.at) < r.ttl
}

// avoid returns chosen and the values of s reserved for other Services
// than owner, and drops the expired reservations.
func (r *Reservations) avoid(s *span, owner string, chosen map[uint32]bool) map[uint32]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := make(map[uint32]bool, len(chosen)+len(r.held))
	for v := range chosen {
		out[v] = true
	}
	for key, h := range r.held {
		if now.Sub(h.at) >= r.ttl {
			delete(r.held, key)
			continue
		}
		if h.owner == owner || !strings.HasPrefix(key, s.prefix) {
			continue
		}
		if v, ok := s.parse(strings.TrimPrefix(key, s.prefix)); ok {
			out[v] = true
		}
	}
	return out
}

// hold reserves keys for owner.
func (r *Reservations) hold(owner string, keys []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for _, key := range keys {
		r.held[key] = reservation{owner: owner, at: now}
	}
}

// Len returns how many values are reserved (expired ones included until
// a plan drops them).
func (r *Reservations) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.held)
}
