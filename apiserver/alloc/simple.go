package alloc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/navarch/navarch/store"
)

// commitAttempts bounds the retries of the simple path when another
// writer takes a value between planning and commit.
const commitAttempts = 8

// AllocateService plans svc's allocations as PlanCreate does (filling in
// svc) and commits them on their own, retrying when another writer takes
// a value first. It is for callers that do not write the Service in the
// same transaction.
func (a *Allocator) AllocateService(ctx context.Context, svc *corev1.Service) error {
	want := svc.DeepCopy()
	for attempt := 1; ; attempt++ {
		try := want.DeepCopy()
		p, err := a.PlanCreate(ctx, try)
		if err != nil {
			return err
		}
		_, err = a.store.Txn(ctx, p.Ops)
		if err == nil {
			*svc = *try
			return nil
		}
		if attempt < commitAttempts && a.Raced(ctx, p, err) {
			continue
		}
		return fmt.Errorf("allocate for service %s: %w", p.owner, err)
	}
}

// ReleaseService releases everything svc holds (the keys svc's uid owns).
func (a *Allocator) ReleaseService(ctx context.Context, svc *corev1.Service) error {
	for attempt := 1; ; attempt++ {
		p, err := a.PlanDelete(ctx, svc)
		if err != nil {
			return err
		}
		_, err = a.store.Txn(ctx, p.Ops)
		if err == nil {
			return nil
		}
		if attempt < commitAttempts && a.Raced(ctx, p, err) {
			continue
		}
		return fmt.Errorf("release for service %s: %w", p.owner, err)
	}
}

// AllocateIP takes a cluster IP for o: requested when it is valid (else a
// random free one). It fails with ErrNotInRange or ErrAllocated for a
// refused request, ErrFull when the range is full.
func (a *Allocator) AllocateIP(ctx context.Context, o Owner, requested netip.Addr) (netip.Addr, error) {
	var v uint32
	if requested.IsValid() {
		var ok bool
		if v, ok = a.ips.parse(requested.Unmap().String()); !ok {
			return netip.Addr{}, fmt.Errorf("allocate IP %s: %w", requested, ErrNotInRange)
		}
	}
	got, err := a.allocate(ctx, a.ips, o, v, requested.IsValid())
	if err != nil {
		return netip.Addr{}, err
	}
	return netip.MustParseAddr(a.ips.format(got)), nil
}

// ReleaseIP gives back ip when o holds it; it is not an error when
// nobody, or somebody else, does.
func (a *Allocator) ReleaseIP(ctx context.Context, o Owner, ip netip.Addr) error {
	v, ok := a.ips.parse(ip.Unmap().String())
	if !ok {
		return nil
	}
	return a.release(ctx, a.ips, o, v)
}

// AllocateNodePort takes a node port for o: requested when non-zero (else
// a random free one). Errors as AllocateIP.
func (a *Allocator) AllocateNodePort(ctx context.Context, o Owner, requested int32) (int32, error) {
	if requested < 0 {
		return 0, fmt.Errorf("allocate port %d: %w", requested, ErrNotInRange)
	}
	got, err := a.allocate(ctx, a.ports, o, uint32(requested), requested != 0)
	return int32(got), err
}

// ReleaseNodePort gives back port when o holds it.
func (a *Allocator) ReleaseNodePort(ctx context.Context, o Owner, port int32) error {
	if port <= 0 {
		return nil
	}
	return a.release(ctx, a.ports, o, uint32(port))
}

func (a *Allocator) allocate(ctx context.Context, s *span, o Owner, v uint32, requested bool) (uint32, error) {
	for attempt := 1; ; attempt++ {
		got, create, err := a.claim(ctx, s, o, v, requested, nil)
		if err != nil {
			if errors.Is(err, ErrAllocated) || errors.Is(err, ErrNotInRange) {
				return 0, fmt.Errorf("allocate %s %s: %w", s.kind, s.format(v), err)
			}
			return 0, err
		}
		if !create {
			return got, nil
		}
		err = a.store.Create(ctx, s.key(got), s.record(got, o))
		if err == nil {
			return got, nil
		}
		if !errors.Is(err, store.ErrExists) {
			return 0, fmt.Errorf("allocate %s %s: %w", s.kind, s.format(got), err)
		}
		if requested {
			return 0, fmt.Errorf("allocate %s %s: %w", s.kind, s.format(got), ErrAllocated)
		}
		if attempt == commitAttempts {
			return 0, fmt.Errorf("allocate a service %s: %w", s.kind, err)
		}
	}
}

func (a *Allocator) release(ctx context.Context, s *span, o Owner, v uint32) error {
	if !s.contains(v) {
		return nil
	}
	key := s.key(v)
	r, err := a.read(ctx, key)
	if err != nil || r == nil || holderUID(r) != o.UID {
		return err
	}
	rv, err := store.ParseResourceVersion(r.ResourceVersion)
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	err = a.store.Delete(ctx, key, nil, rv)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		// Gone or rewritten since the read: no longer o's to release.
		return nil
	}
	return err
}
