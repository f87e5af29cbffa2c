package apiserver

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"

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
// allocation bitmap. Two Services created at the same instant may pick the
// same address only if the random starting points coincide and probe to the
// same free one, which the size of the ranges makes unlikely; a cluster
// reaching that scale would want Kubernetes' bitmap in etcd.
type serviceNetwork struct {
	cidr              netip.Prefix
	portBase, portMax int32
}

func newServiceNetwork(cidr string, ports string) (*serviceNetwork, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return nil, fmt.Errorf("service CIDR %q: want an IPv4 prefix of /30 or larger", cidr)
	}
	n := &serviceNetwork{cidr: p.Masked()}
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
	var errs field.ErrorList
	if needIP {
		errs = append(errs, s.network.allocateIP(svc, old, usedIPs)...)
	}
	if needPorts {
		errs = append(errs, s.network.allocatePorts(svc, usedPorts)...)
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
