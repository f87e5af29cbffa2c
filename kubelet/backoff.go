package kubelet

import (
	"time"
)

// BackoffPolicy is the crash and image-pull back-off curve: the wait before
// retrying starts at Initial, doubles with each further failure up to Max,
// and starts over once a container ran for ResetAfter before failing.
type BackoffPolicy struct {
	Initial    time.Duration
	Max        time.Duration
	ResetAfter time.Duration
}

// DefaultBackoff is Kubernetes' curve: 10 s doubling to 5 min, reset after
// 10 min of running.
func DefaultBackoff() BackoffPolicy {
	return BackoffPolicy{Initial: 10 * time.Second, Max: 5 * time.Minute, ResetAfter: 10 * time.Minute}
}

// Next returns the delay after one more failure, given the previous delay
// (0: none yet) and how long the failed attempt ran; first says no failure
// was counted before. For crashes (immediateFirst) a first failure, and a
// failure after a run of ResetAfter or longer, retry at once, as
// Kubernetes restarts a container the first time without waiting; the
// following ones wait Initial, then twice the previous delay, up to Max.
// Without immediateFirst (image pulls) the first failure waits Initial.
func (p BackoffPolicy) Next(prev, ran time.Duration, first, immediateFirst bool) time.Duration {
	reset := p.ResetAfter > 0 && ran >= p.ResetAfter
	switch {
	case (first || reset) && immediateFirst:
		return 0
	case first || reset || prev <= 0:
		return p.Initial
	}
	return min(2*prev, p.Max)
}

// backoff remembers, per key (a pod's container or image), the failure it
// last counted and the delay that failure earned. It has no clock: the
// caller passes the failure's time, and the time now. Not safe for
// concurrent use; each pod worker owns its own.
type backoff struct {
	policy BackoffPolicy
	// immediateFirst: the first failure is retried at once (crashes).
	immediateFirst bool
	entries        map[string]backoffEntry
}

type backoffEntry struct {
	failedAt time.Time     // the failure counted last
	delay    time.Duration // how long after failedAt a retry may happen
}

func newBackoff(p BackoffPolicy, immediateFirst bool) *backoff {
	return &backoff{policy: p, immediateFirst: immediateFirst}
}

// failure records a failure of key at failedAt (an attempt that ran for
// ran) unless that very failure was recorded already, and returns when a
// retry may happen. Calling it again for the same failure is harmless.
func (b *backoff) failure(key string, failedAt time.Time, ran time.Duration) time.Time {
	if b.entries == nil {
		b.entries = map[string]backoffEntry{}
	}
	e, ok := b.entries[key]
	if ok && e.failedAt.Equal(failedAt) {
		return failedAt.Add(e.delay)
	}
	e.delay = b.policy.Next(e.delay, ran, !ok, b.immediateFirst)
	e.failedAt = failedAt
	b.entries[key] = e
	return failedAt.Add(e.delay)
}

// delay returns the delay the last failure of key earned.
func (b *backoff) delay(key string) time.Duration {
	return b.entries[key].delay
}

// reset forgets key (its attempt succeeded).
func (b *backoff) reset(key string) {
	delete(b.entries, key)
}

// expire forgets entries whose last failure is older than
// 2×Max+ResetAfter before now, so a pod worker's memory stays bounded.
func (b *backoff) expire(now time.Time) {
	for k, e := range b.entries {
		if now.Sub(e.failedAt) > 2*b.policy.Max+b.policy.ResetAfter {
			delete(b.entries, k)
		}
	}
}
