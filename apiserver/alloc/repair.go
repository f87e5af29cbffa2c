package alloc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/store"
)

// RepairResult says what Repair found and changed, as keys.
type RepairResult struct {
	// Created: keys made for values Services held without one.
	Created []string
	// Released: keys deleted because no Service holds their value.
	Released []string
	// Conflicts: values held by a Service whose key another Service owns.
	// Repair leaves them alone; one of the Services must change.
	Conflicts []string
}

// Repair makes the allocation keys agree with the stored Services: it
// creates the keys of values Services hold without one, and deletes keys
// whose owner (by uid) is gone or no longer holds the value, when they are
// older than grace. The grace spares values taken through AllocateIP or
// AllocateNodePort for a Service not yet written; with the transaction
// path alone, 0 is safe. It reads the keys before the Services, so that a
// Service created with its keys meanwhile is never robbed, and deletes
// only at the key's read resourceVersion.
func (a *Allocator) Repair(ctx context.Context, grace time.Duration) (*RepairResult, error) {
	keys := map[string]*corev1.RangeAllocation{}
	for _, s := range []*span{a.ips, a.ports} {
		res, err := a.store.List(ctx, s.prefix, store.ListOptions{}, newRecord)
		if err != nil {
			return nil, fmt.Errorf("repair: list %ss: %w", s.kind, err)
		}
		for _, item := range res.Items {
			r := item.(*corev1.RangeAllocation)
			keys[s.prefix+r.Name] = r
		}
	}
	servicesRes, _ := api.LookupResource(corev1.SchemeGroupVersion.WithResource("services"))
	res, err := a.store.List(ctx, servicesRes.StorageKey("", ""), store.ListOptions{}, func() runtime.Object { return &corev1.Service{} })
	if err != nil {
		return nil, fmt.Errorf("repair: list services: %w", err)
	}

	out := &RepairResult{}
	justified := map[string]bool{}
	for _, item := range res.Items {
		svc := item.(*corev1.Service)
		for _, h := range a.holdings(svc) {
			key := h.s.key(h.v)
			r := keys[key]
			switch {
			case r != nil && holderUID(r) == svc.UID:
				justified[key] = true
			case r != nil:
				out.Conflicts = append(out.Conflicts, key)
			default:
				err := a.store.Create(ctx, key, h.s.record(h.v, OwnerOf(svc)))
				if errors.Is(err, store.ErrExists) {
					if cur, rerr := a.read(ctx, key); rerr == nil && cur != nil && holderUID(cur) == svc.UID {
						continue // written with the Service after the keys were read
					}
					out.Conflicts = append(out.Conflicts, key)
					continue
				}
				if err != nil {
					return out, fmt.Errorf("repair: %w", err)
				}
				out.Created = append(out.Created, key)
			}
		}
	}
	for key, r := range keys {
		if justified[key] || time.Since(r.CreationTimestamp.Time) < grace {
			continue
		}
		rv, err := store.ParseResourceVersion(r.ResourceVersion)
		if err != nil {
			return out, fmt.Errorf("repair: %s: %w", key, err)
		}
		err = a.store.Delete(ctx, key, nil, rv)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
			continue // released or rewritten since it was read
		}
		if err != nil {
			return out, fmt.Errorf("repair: %w", err)
		}
		out.Released = append(out.Released, key)
	}
	slices.Sort(out.Created)
	slices.Sort(out.Released)
	slices.Sort(out.Conflicts)
	return out, nil
}
