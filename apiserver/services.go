package apiserver

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/store"
)

// Defaults of the Service networks.
const (
	// DefaultServiceCIDR is the range cluster IPs come from.
	DefaultServiceCIDR = "10.96.0.0/12"
	// DefaultNodePortRange is the range node ports come from.
	DefaultNodePortRange = "30000-32767"
)

// serviceNetwork allocates what the server gives a Service: its cluster IP
// from the Service CIDR and node ports from their range, as Kubernetes'
// Service registry does. The first address of the CIDR is kept for the
// API server's own Service, as in Kubernetes.
//
// The allocated values are found by reading every Service: there is no
// allocation bitmap. What this server handed out in the last minutes is
// also kept in memory, so that Services admitted together (a revision's
// transaction, concurrent creates) do not get the same value before any is
// stored. Two servers of one cluster could still pick the same address at
// the same instant only if their random starting points probed to the same
// free one, which the size of the ranges makes unlikely.
type serviceNetwork struct {
	cidr              netip.Prefix
	portBase, portMax int32

	mu            sync.Mutex
	reservedIPs   map[netip.Addr]reservation
	reservedPorts map[int32]reservation
}

// reservation is a value handed out to a Service ("namespace/name") at a
// time; the same Service may take it again (a dry run, then the write).
type reservation struct {
	owner string
	at    time.Time
}

// reservationTTL is how long a handed-out value is kept reserved in memory:
// longer than any admission takes to be stored.
const reservationTTL = 2 * time.Minute

// withReservations adds the values reserved recently for other Services
// than owner to used, and drops expired reservations.
func (n *serviceNetwork) withReservations(owner string, ips map[netip.Addr]bool, ports map[int32]bool, now time.Time) {
	for a, r := range n.reservedIPs {
		switch {
		case now.Sub(r.at) > reservationTTL:
			delete(n.reservedIPs, a)
		case r.owner != owner:
			ips[a] = true
		}
	}
	for p, r := range n.reservedPorts {
		switch {
		case now.Sub(r.at) > reservationTTL:
			delete(n.reservedPorts, p)
		case r.owner != owner:
			ports[p] = true
		}
	}
}

func newServiceNetwork(cidr string, ports string) (*serviceNetwork, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return nil, fmt.Errorf("service CIDR %q: want an IPv4 prefix of /30 or larger", cidr)
	}
	n := &serviceNetwork{cidr: p.Masked(), reservedIPs: map[netip.Addr]reservation{}, reservedPorts: map[int32]reservation{}}
	if _, err := fmt.Sscanf(ports, "%d-%d", &n.portBase, &n.portMax); err != nil || n.portBase < 1 || n.portMax > 65535 || n.portBase > n.portMax {
		return nil, fmt.Errorf("node port range %q: want <first>-<last>", ports)
	}
	return n, nil
}

// allocateService fills in svc's cluster IP and node ports where the
// client left them to the server, and checks those it asked for; old is
// the stored Service of an update (nil on create), whose values svc may
// keep.
func (s *Server) allocateService(ctx context.Context, svc, old *corev1.Service) error {
	needIP := svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
	needPorts := svc.Spec.Type == corev1.ServiceTypeNodePort ||
		svc.Spec.Type == corev1.ServiceTypeLoadBalancer && (svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts)
	if !needIP && !needPorts {
		return nil
	}
	usedIPs, usedPorts, err := s.serviceAllocations(ctx, svc)
	if err != nil {
		return err
	}
	n := s.network
	n.mu.Lock()
	defer n.mu.Unlock()
	r := reservation{owner: svc.Namespace + "/" + svc.Name, at: s.now()}
	n.withReservations(r.owner, usedIPs, usedPorts, r.at)
	var errs field.ErrorList
	if needIP {
		errs = append(errs, n.allocateIP(svc, old, usedIPs)...)
	}
	if needPorts {
		errs = append(errs, n.allocatePorts(svc, usedPorts)...)
	}
	if len(errs) == 0 {
		if a, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil {
			n.reservedIPs[a] = r
		}
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				n.reservedPorts[p.NodePort] = r
			}
		}
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, errs)
	}
	return nil
}

// serviceAllocations returns the cluster IPs and node ports every Service
// but svc holds.
func (s *Server) serviceAllocations(ctx context.Context, svc *corev1.Service) (map[netip.Addr]bool, map[int32]bool, error) {
	res, _ := api.LookupResource(corev1.SchemeGroupVersion.WithResource("services"))
	list, err := s.store.List(ctx, res.StorageKey("", ""), store.ListOptions{}, res.New)
	if err != nil {
		return nil, nil, storeError(err, res.GroupResource(), "")
	}
	ips, ports := map[netip.Addr]bool{}, map[int32]bool{}
	for _, item := range list.Items {
		other := item.(*corev1.Service)
		if other.Namespace == svc.Namespace && other.Name == svc.Name {
			continue
		}
		for _, ip := range append([]string{other.Spec.ClusterIP}, other.Spec.ClusterIPs...) {
			if a, err := netip.ParseAddr(ip); err == nil {
				ips[a] = true
			}
		}
		for _, p := range other.Spec.Ports {
			if p.NodePort != 0 {
				ports[p.NodePort] = true
			}
		}
	}
	return ips, ports, nil
}

// allocateIP gives svc a free cluster IP unless it has one, which must then
// be in range and free.
func (n *serviceNetwork) allocateIP(svc, old *corev1.Service, used map[netip.Addr]bool) field.ErrorList {
	path := field.NewPath("spec", "clusterIPs").Index(0)
	if svc.Spec.ClusterIP != "" {
		a, err := netip.ParseAddr(svc.Spec.ClusterIP)
		if err != nil {
			return nil // validation reports a malformed address
		}
		if old != nil && old.Spec.ClusterIP == svc.Spec.ClusterIP {
			return nil
		}
		if !n.cidr.Contains(a) {
			return field.ErrorList{field.Invalid(path, svc.Spec.ClusterIP, fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", a, a, n.cidr))}
		}
		if used[a] {
			return field.ErrorList{field.Invalid(path, svc.Spec.ClusterIP, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", a))}
		}
		return nil
	}
	size := new(big.Int).Lsh(big.NewInt(1), uint(32-n.cidr.Bits())).Int64()
	// Offsets 0 (network), 1 (the API server's Service) and size-1
	// (broadcast) are never given out.
	free := size - 3
	start := rand.Int64N(free)
	base := n.cidr.Addr().As4()
	baseN := int64(base[0])<<24 | int64(base[1])<<16 | int64(base[2])<<8 | int64(base[3])
	for i := int64(0); i < free; i++ {
		off := 2 + (start+i)%free
		v := baseN + off
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if !used[a] {
			svc.Spec.ClusterIP = a.String()
			svc.Spec.ClusterIPs = []string{a.String()}
			return nil
		}
	}
	return field.ErrorList{field.Invalid(path, "", fmt.Sprintf("failed to allocate a serviceIP: range is full (%s)", n.cidr))}
}

// allocatePorts gives each port of svc without a node port a free one, and
// checks those it asked for.
func (n *serviceNetwork) allocatePorts(svc *corev1.Service, used map[int32]bool) field.ErrorList {
	var errs field.ErrorList
	mine := map[int32]bool{}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort == 0 {
			continue
		}
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		switch {
		case p.NodePort < n.portBase || p.NodePort > n.portMax:
			errs = append(errs, field.Invalid(path, p.NodePort, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", n.portBase, n.portMax)))
		case used[p.NodePort]:
			errs = append(errs, field.Invalid(path, p.NodePort, "provided port is already allocated"))
		}
		mine[p.NodePort] = true
	}
	span := n.portMax - n.portBase + 1
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort != 0 {
			continue
		}
		start := rand.Int32N(span)
		for j := int32(0); j < span; j++ {
			port := n.portBase + (start+j)%span
			if !used[port] && !mine[port] {
				p.NodePort, mine[port] = port, true
				break
			}
		}
		if p.NodePort == 0 {
			errs = append(errs, field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), 0, "range is full"))
		}
	}
	return errs
}

// allocate runs allocateService for Services (old is nil on create) and
// defaults what depends on the allocated values; other kinds pass.
func (s *Server) allocate(rr *resourceRequest, obj, old runtime.Object) error {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil
	}
	oldSvc, _ := old.(*corev1.Service)
	if err := s.allocateService(rr.ctx(), svc, oldSvc); err != nil {
		return err
	}
	api.Default(svc)
	return nil
}
