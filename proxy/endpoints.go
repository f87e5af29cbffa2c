package proxy

import (
	"cmp"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// endpoint is one backend of a Service port.
type endpoint struct {
	ip       netip.Addr
	port     int32
	nodeName string
}

func (e endpoint) String() string { return netip.AddrPortFrom(e.ip, uint16(e.port)).String() }

// endpointsOf returns the endpoints of Service port sp among the
// EndpointSlices of its Service: the ready ones; when none is ready, the
// ones that are serving while terminating (as kube-proxy does, so that a
// rollout's last pods keep answering). Endpoints listed twice count once;
// the result is sorted by address and port. Only IPv4 slices count.
func endpointsOf(sp *corev1.ServicePort, eslices []*discoveryv1.EndpointSlice) []endpoint {
	var ready, terminating []endpoint
	seen := map[endpoint]bool{}
	for _, es := range eslices {
		if es.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		port, ok := slicePort(es, sp)
		if !ok {
			continue
		}
		for _, e := range es.Endpoints {
			if len(e.Addresses) == 0 {
				continue
			}
			ip, err := netip.ParseAddr(e.Addresses[0])
			if err != nil || !ip.Is4() {
				continue
			}
			ep := endpoint{ip: ip, port: port}
			if e.NodeName != nil {
				ep.nodeName = *e.NodeName
			}
			key := endpoint{ip: ip, port: port}
			if seen[key] {
				continue
			}
			isReady := e.Conditions.Ready == nil || *e.Conditions.Ready
			serving := isReady
			if e.Conditions.Serving != nil {
				serving = *e.Conditions.Serving
			}
			isTerminating := e.Conditions.Terminating != nil && *e.Conditions.Terminating
			switch {
			case isReady:
				seen[key] = true
				ready = append(ready, ep)
			case serving && isTerminating:
				terminating = append(terminating, ep)
			}
		}
	}
	out := ready
	if len(out) == 0 {
		out = dedupe(terminating)
	}
	slices.SortFunc(out, func(a, b endpoint) int {
		if c := a.ip.Compare(b.ip); c != 0 {
			return c
		}
		return cmp.Compare(a.port, b.port)
	})
	return out
}

// dedupe drops repeated address-port pairs.
func dedupe(eps []endpoint) []endpoint {
	seen := map[endpoint]bool{}
	out := eps[:0]
	for _, ep := range eps {
		key := endpoint{ip: ep.ip, port: ep.port}
		if !seen[key] {
			seen[key] = true
			out = append(out, ep)
		}
	}
	return out
}

// slicePort returns the port of es that serves Service port sp: the one of
// the same name and protocol (an unnamed port matches an unnamed one).
func slicePort(es *discoveryv1.EndpointSlice, sp *corev1.ServicePort) (int32, bool) {
	for _, p := range es.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if name == sp.Name && proto == sp.Protocol && p.Port != nil && *p.Port > 0 {
			return *p.Port, true
		}
	}
	return 0, false
}
