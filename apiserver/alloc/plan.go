package alloc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/navarch/navarch/store"
)

// Plan is what one Service write does to the allocations: Ops, to add to
// the transaction that writes the Service. An empty plan has no ops.
type Plan struct {
	// Ops create the keys of the values the Service takes and delete (at
	// their resourceVersion) the keys of the values it gives back.
	Ops []store.Op

	owner Owner
}

// String lists the plan's ops, for logs.
func (p *Plan) String() string {
	parts := make([]string, len(p.Ops))
	for i, op := range p.Ops {
		verb := "take"
		if op.Type == store.OpDelete {
			verb = "release"
		}
		parts[i] = verb + " " + op.Key
	}
	return p.owner.String() + ": " + strings.Join(parts, ", ")
}

// PlanCreate plans the allocations of a new Service, which must have its
// namespace, name and uid set (after defaulting and validation; with
// generateName, once the name is chosen). It fills in what svc leaves to
// the server: spec.clusterIP and spec.clusterIPs (unless svc is headless
// or ExternalName), spec.ports[*].nodePort (NodePort, and LoadBalancer
// unless allocateLoadBalancerNodePorts is false) and
// spec.healthCheckNodePort (LoadBalancer with externalTrafficPolicy
// Local). Ports of one number and different protocols share a node port,
// as in Kubernetes.
//
// It fails with an *InvalidError when svc asks for a value that is taken
// or out of range, with ErrFull when no value is left, or with the store's
// error. It only reads.
func (a *Allocator) PlanCreate(ctx context.Context, svc *corev1.Service, opts ...PlanOption) (*Plan, error) {
	return a.plan(ctx, nil, svc, opts)
}

// PlanUpdate plans the allocations of an update of old (as stored) to svc,
// as PlanCreate does for what svc holds that old did not, and releases
// what old held that svc does not. Values old held already are kept
// without a check (their keys are created if missing).
func (a *Allocator) PlanUpdate(ctx context.Context, old, svc *corev1.Service, opts ...PlanOption) (*Plan, error) {
	return a.plan(ctx, old, svc, opts)
}

// PlanDelete plans the release of everything svc (as stored) holds.
func (a *Allocator) PlanDelete(ctx context.Context, svc *corev1.Service) (*Plan, error) {
	return a.plan(ctx, svc, nil, nil)
}

// HasOps reports whether p changes any allocation; a nil plan does not.
func (p *Plan) HasOps() bool { return p != nil && len(p.Ops) > 0 }

// Raced reports whether err, from a transaction holding p.Ops, failed
// because another writer took a value p takes, or changed an allocation p
// releases, between planning and commit. The caller then plans again from
// the request as admitted (not from the Service the plan filled in).
func (a *Allocator) Raced(ctx context.Context, p *Plan, err error) bool {
	if err == nil || p == nil || !(errors.Is(err, store.ErrExists) ||
		errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)) {
		return false
	}
	for _, op := range p.Ops {
		r, rerr := a.read(ctx, op.Key)
		if rerr != nil {
			return false
		}
		switch op.Type {
		case store.OpCreate:
			if r != nil {
				return true
			}
		case store.OpDelete:
			if r == nil || r.ResourceVersion != fmt.Sprint(op.ResourceVersion) {
				return true
			}
		}
	}
	return false
}

// planner gathers one plan.
type planner struct {
	a      *Allocator
	p      *Plan
	oldSvc *corev1.Service
	inv    InvalidError
	keep   map[string]bool // keys the Service holds after the write
	chosen map[*span]map[uint32]bool
	res    *Reservations // nil: none
}

func (a *Allocator) plan(ctx context.Context, old, svc *corev1.Service, opts []PlanOption) (*Plan, error) {
	pl := &planner{a: a, p: &Plan{}, oldSvc: old, keep: map[string]bool{},
		chosen: map[*span]map[uint32]bool{a.ips: {}, a.ports: {}}}
	for _, o := range opts {
		o(pl)
	}
	if svc != nil {
		pl.p.owner = OwnerOf(svc)
		if err := pl.clusterIP(ctx, svc); err != nil {
			return nil, err
		}
		if err := pl.nodePorts(ctx, svc); err != nil {
			return nil, err
		}
		if err := pl.inv.orNil(); err != nil {
			return nil, err
		}
		if pl.res != nil {
			keys := make([]string, 0, len(pl.keep))
			for key := range pl.keep {
				keys = append(keys, key)
			}
			pl.res.hold(reservationOwner(pl.p.owner), keys)
		}
	} else if old != nil {
		pl.p.owner = OwnerOf(old)
	}
	if old != nil {
		if err := pl.release(ctx, old); err != nil {
			return nil, err
		}
	}
	return pl.p, nil
}

// take claims value v of s (drawn when requested is false) for the
// Service and returns it; ok is false when the request was refused (the
// refusal is recorded for path).
func (pl *planner) take(ctx context.Context, s *span, v uint32, requested bool, path *field.Path, value any) (uint32, bool, error) {
	chosen := pl.chosen[s]
	if requested && chosen[v] {
		return v, true, nil
	}
	kept := requested && pl.oldHolds(s, v)
	avoid := chosen
	if pl.res != nil && !requested {
		avoid = pl.res.avoid(s, reservationOwner(pl.p.owner), chosen)
	}
	got, create, err := pl.a.claim(ctx, s, pl.p.owner, v, requested, avoid)
	if err == nil && create && requested && pl.res != nil && pl.res.heldByOther(s.key(got), reservationOwner(pl.p.owner)) {
		// Free in etcd, but planned for another Service of the batch.
		err = ErrAllocated
	}
	switch {
	case kept && errors.Is(err, ErrAllocated):
		// Held by the stored Service already: not this write's business.
		return v, true, nil
	case errors.Is(err, ErrAllocated), errors.Is(err, ErrNotInRange):
		pl.inv.add(s.refusal(path, value, err), err)
		return 0, false, nil
	case err != nil:
		return 0, false, err
	}
	chosen[got] = true
	pl.keep[s.key(got)] = true
	if create {
		pl.p.Ops = append(pl.p.Ops, store.Op{Type: store.OpCreate, Key: s.key(got), Object: s.record(got, pl.p.owner)})
	}
	return got, true, nil
}

// oldHolds reports whether the stored Service holds v of s.
func (pl *planner) oldHolds(s *span, v uint32) bool {
	if pl.oldSvc == nil {
		return false
	}
	for _, h := range pl.a.holdings(pl.oldSvc) {
		if h.s == s && h.v == v {
			return true
		}
	}
	return false
}

func (pl *planner) clusterIP(ctx context.Context, svc *corev1.Service) error {
	if !hasClusterIP(svc) {
		return nil
	}
	path := field.NewPath("spec", "clusterIP")
	requested := svc.Spec.ClusterIP != ""
	var v uint32
	if requested {
		ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
		var ok bool
		if err == nil {
			v, ok = pl.a.ips.parse(ip.Unmap().String())
		}
		if !ok {
			pl.inv.add(pl.a.ips.refusal(path, svc.Spec.ClusterIP, ErrNotInRange), ErrNotInRange)
			return nil
		}
	}
	got, ok, err := pl.take(ctx, pl.a.ips, v, requested, path, svc.Spec.ClusterIP)
	if err != nil || !ok {
		return err
	}
	if !requested {
		svc.Spec.ClusterIP = pl.a.ips.format(got)
	}
	if len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
	return nil
}

func (pl *planner) nodePorts(ctx context.Context, svc *corev1.Service) error {
	s := pl.a.ports
	byPort := map[int32]int32{} // service port number → node port, shared across protocols
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort != 0 {
			byPort[p.Port] = p.NodePort
		}
	}
	wants := wantsNodePorts(svc)
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		requested := p.NodePort != 0
		if !requested && !wants {
			continue
		}
		if !requested {
			if shared, ok := byPort[p.Port]; ok {
				p.NodePort = shared
				continue
			}
		}
		got, ok, err := pl.take(ctx, s, uint32(max(p.NodePort, 0)), requested, path, p.NodePort)
		if err != nil {
			return err
		}
		if ok && !requested {
			p.NodePort = int32(got)
			byPort[p.Port] = p.NodePort
		}
	}
	if !needsHealthCheck(svc) {
		return nil
	}
	path := field.NewPath("spec", "healthCheckNodePort")
	hc := svc.Spec.HealthCheckNodePort
	if hc != 0 && pl.chosen[s][uint32(hc)] {
		pl.inv.add(s.refusal(path, hc, ErrAllocated), ErrAllocated)
		return nil
	}
	got, ok, err := pl.take(ctx, s, uint32(max(hc, 0)), hc != 0, path, hc)
	if err != nil {
		return err
	}
	if ok && hc == 0 {
		svc.Spec.HealthCheckNodePort = int32(got)
	}
	return nil
}

// release plans the deletion of the keys old holds that the write does
// not keep, when they are old's (by uid).
func (pl *planner) release(ctx context.Context, old *corev1.Service) error {
	seen := map[string]bool{}
	for _, h := range pl.a.holdings(old) {
		key := h.s.key(h.v)
		if pl.keep[key] || seen[key] {
			continue
		}
		seen[key] = true
		r, err := pl.a.read(ctx, key)
		if err != nil {
			return err
		}
		if r == nil || holderUID(r) != old.UID {
			continue
		}
		rv, err := store.ParseResourceVersion(r.ResourceVersion)
		if err != nil {
			return fmt.Errorf("allocation %s: %w", key, err)
		}
		pl.p.Ops = append(pl.p.Ops, store.Op{Type: store.OpDelete, Key: key, ResourceVersion: rv})
	}
	return nil
}

// held is one value a stored Service holds.
type held struct {
	s *span
	v uint32
}

// holdings returns the in-range values svc holds: its cluster IP, node
// ports and health-check node port.
func (a *Allocator) holdings(svc *corev1.Service) []held {
	var out []held
	if hasClusterIP(svc) {
		if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil {
			if v, ok := a.ips.parse(ip.Unmap().String()); ok && a.ips.contains(v) {
				out = append(out, held{a.ips, v})
			}
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort > 0 && a.ports.contains(uint32(p.NodePort)) {
			out = append(out, held{a.ports, uint32(p.NodePort)})
		}
	}
	if hc := svc.Spec.HealthCheckNodePort; hc > 0 && a.ports.contains(uint32(hc)) {
		out = append(out, held{a.ports, uint32(hc)})
	}
	return out
}

// hasClusterIP reports whether svc has (or gets) a cluster IP: every type
// but ExternalName, unless headless.
func hasClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

// wantsNodePorts reports whether the server allocates node ports to svc's
// ports that have none.
func wantsNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

// needsHealthCheck reports whether svc gets a health-check node port.
func needsHealthCheck(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer &&
		svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}
