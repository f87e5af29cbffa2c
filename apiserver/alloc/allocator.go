package alloc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/navarch/navarch/store"
)

// Key prefixes of the allocations.
const (
	ServiceIPsPrefix = "/registry/ranges/serviceips/"
	NodePortsPrefix  = "/registry/ranges/servicenodeports/"
)

// drawAttempts is how many random values are tried before a scan.
const drawAttempts = 8

// Allocator hands out cluster IPs and node ports, keeping them in a store.
// It holds no state of its own besides its ranges: several Allocators, in
// one process or in several API servers on one etcd, share the keys.
type Allocator struct {
	store *store.Store
	cidr  netip.Prefix
	ips   *span
	ports *span
}

// New returns an Allocator over s with opts' ranges. It fails when opts
// are invalid.
func New(s *store.Store, opts Options) (*Allocator, error) {
	if s == nil {
		return nil, errors.New("alloc: a store is required")
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("alloc: %w", err)
	}
	opts = opts.withDefaults()
	cidr, _ := ParseServiceCIDR(opts.ServiceCIDR)
	first, last, _ := ParsePortRange(opts.NodePortRange)
	return &Allocator{store: s, cidr: cidr, ips: ipSpan(cidr), ports: portSpan(first, last)}, nil
}

// ServiceCIDR returns the range cluster IPs come from.
func (a *Allocator) ServiceCIDR() netip.Prefix { return a.cidr }

// NodePortRange returns the first and last node port.
func (a *Allocator) NodePortRange() (first, last int32) {
	return int32(a.ports.base), int32(a.ports.base + a.ports.size - 1)
}

// Owner is who holds an allocation: a Service, identified by its uid.
type Owner struct {
	Namespace, Name string
	UID             types.UID
}

// OwnerOf returns svc as an Owner.
func OwnerOf(svc *corev1.Service) Owner {
	return Owner{Namespace: svc.Namespace, Name: svc.Name, UID: svc.UID}
}

func (o Owner) String() string { return o.Namespace + "/" + o.Name }

// record is the stored form of value v of s held by o.
func (s *span) record(v uint32, o Owner) *corev1.RangeAllocation {
	return &corev1.RangeAllocation{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "RangeAllocation"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              s.format(v),
			Namespace:         o.Namespace,
			CreationTimestamp: metav1.Now().Rfc3339Copy(),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Service", Name: o.Name, UID: o.UID,
			}},
		},
		Range: s.valid,
	}
}

// holderUID returns the uid of the Service that holds r.
func holderUID(r *corev1.RangeAllocation) types.UID {
	for _, ref := range r.OwnerReferences {
		if ref.Kind == "Service" {
			return ref.UID
		}
	}
	return ""
}

// holder returns the Service that holds r.
func holder(r *corev1.RangeAllocation) Owner {
	o := Owner{Namespace: r.Namespace}
	for _, ref := range r.OwnerReferences {
		if ref.Kind == "Service" {
			o.Name, o.UID = ref.Name, ref.UID
		}
	}
	return o
}

func newRecord() runtime.Object { return &corev1.RangeAllocation{} }

// read returns the allocation at key, nil when there is none.
func (a *Allocator) read(ctx context.Context, key string) (*corev1.RangeAllocation, error) {
	r := &corev1.RangeAllocation{}
	err := a.store.Get(ctx, key, r)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read allocation: %w", err)
	}
	return r, nil
}

// used returns every value of s that has a key.
func (a *Allocator) used(ctx context.Context, s *span) (map[uint32]bool, error) {
	res, err := a.store.List(ctx, s.prefix, store.ListOptions{}, newRecord)
	if err != nil {
		return nil, fmt.Errorf("list allocated %ss: %w", s.kind, err)
	}
	used := make(map[uint32]bool, len(res.Items))
	for _, item := range res.Items {
		if v, ok := s.parse(item.(*corev1.RangeAllocation).Name); ok {
			used[v] = true
		}
	}
	return used, nil
}

// parse turns a value's name (an address or a port) into the value.
func (s *span) parse(name string) (uint32, bool) {
	if s.kind == "IP" {
		ip, err := netip.ParseAddr(name)
		if err != nil || !ip.Is4() {
			return 0, false
		}
		b := ip.As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
	}
	n, err := strconv.ParseUint(name, 10, 32)
	return uint32(n), err == nil
}

// claim decides how o gets a value of s: the requested one (when
// requested is true) or a drawn one, never one in avoid. It returns the
// value and whether a key must be created (false when o holds it already).
// A refused request fails with ErrNotInRange or ErrAllocated; a full range
// with ErrFull.
func (a *Allocator) claim(ctx context.Context, s *span, o Owner, v uint32, requested bool, avoid map[uint32]bool) (uint32, bool, error) {
	if requested {
		if !s.contains(v) {
			return 0, false, ErrNotInRange
		}
		r, err := a.read(ctx, s.key(v))
		switch {
		case err != nil:
			return 0, false, err
		case r == nil:
			return v, true, nil
		case o.UID != "" && holderUID(r) == o.UID:
			return v, false, nil
		}
		return 0, false, ErrAllocated
	}
	for i := 0; i < drawAttempts; i++ {
		v := s.random()
		if avoid[v] {
			continue
		}
		r, err := a.read(ctx, s.key(v))
		if err != nil {
			return 0, false, err
		}
		if r == nil {
			return v, true, nil
		}
	}
	used, err := a.used(ctx, s)
	if err != nil {
		return 0, false, err
	}
	for v := range avoid {
		used[v] = true
	}
	v, ok := s.scan(used)
	if !ok {
		return 0, false, fmt.Errorf("allocate a service %s from %s: %w", s.kind, s.valid, ErrFull)
	}
	return v, true, nil
}
