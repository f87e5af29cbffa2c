package proxy

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"
)

// LabelServiceProxyName marks a Service that another proxy handles;
// navarch's proxy, like kube-proxy, leaves such Services alone.
const LabelServiceProxyName = "service.kubernetes.io/service-proxy-name"

// Config is what the rendered ruleset depends on besides Services and
// EndpointSlices.
type Config struct {
	// TableName is the ip-family table the ruleset fills.
	TableName string
	// ServiceCIDR: traffic to an address of it that no Service holds is
	// dropped.
	ServiceCIDR netip.Prefix
	// ClusterCIDR, the pod network, when valid: traffic to a cluster IP
	// from outside it is masqueraded, traffic from pods keeps its source.
	// Unset, every connection to a cluster IP is masqueraded.
	ClusterCIDR netip.Prefix
	// NodeName selects the endpoints of Services whose
	// internalTrafficPolicy is Local.
	NodeName string
	// NodeIPs accept NodePort traffic (127.0.0.1 always does, for
	// connections from this host).
	NodeIPs []netip.Addr
}

// Renderer turns Services and EndpointSlices into a Ruleset. It is
// deterministic and does no I/O. It remembers the fragment it rendered for
// each Service with the objects it rendered it from, and renders a
// Service again only when its object or one of its EndpointSlices is a
// different object (informer caches replace objects, never change them,
// so callers must not modify objects they passed). Not safe for
// concurrent use.
type Renderer struct {
	cfg   Config
	base  *fragment
	cache map[string]*rendered
}

// rendered is the cached fragment of one Service.
type rendered struct {
	svc     *corev1.Service
	eslices []*discoveryv1.EndpointSlice
	frag    *fragment
}

// NewRenderer returns a Renderer for cfg.
func NewRenderer(cfg Config) *Renderer {
	return &Renderer{cfg: cfg, base: renderBase(cfg), cache: map[string]*rendered{}}
}

// Render returns the ruleset of services and eslices. Services without a
// cluster IP of the table's family (headless, ExternalName, IPv6) and
// Services another proxy handles get no rules. When two Services claim the
// same address, protocol and port (external IPs may), the first by
// namespace/name keeps it; so it does an endpoint's hairpin element when
// the endpoint serves several Services.
func (r *Renderer) Render(services []*corev1.Service, eslices []*discoveryv1.EndpointSlice) *Ruleset {
	bySvc := map[string][]*discoveryv1.EndpointSlice{}
	for _, es := range eslices {
		name := es.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		key := es.Namespace + "/" + name
		bySvc[key] = append(bySvc[key], es)
	}
	rs := &Ruleset{
		table:    &knftables.Table{Comment: ptr.To("navarch service proxy")},
		base:     r.base,
		services: make(map[string]*fragment, len(services)),
	}
	next := make(map[string]*rendered, len(services))
	for _, svc := range services {
		if !proxied(svc) {
			continue
		}
		key := svc.Namespace + "/" + svc.Name
		es := bySvc[key]
		slices.SortFunc(es, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
		c := r.cache[key]
		if c == nil || c.svc != svc || !slices.Equal(c.eslices, es) {
			c = &rendered{svc: svc, eslices: es, frag: renderService(r.cfg, svc, es)}
		}
		next[key] = c
		rs.services[key] = c.frag
	}
	r.cache = next
	resolveConflicts(rs)
	return rs
}

// proxied reports whether svc gets rules: it has an IPv4 cluster IP and no
// other proxy claims it.
func proxied(svc *corev1.Service) bool {
	if svc.Labels[LabelServiceProxyName] != "" || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return false
	}
	ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
	return err == nil && ip.Is4()
}

// resolveConflicts drops, from all but the first Service by name, the
// elements whose key another Service's fragment holds.
func resolveConflicts(rs *Ruleset) {
	owner := map[string]string{}
	for _, key := range sortedKeys(rs.services) {
		f := rs.services[key]
		var clash bool
		for _, e := range f.elements {
			id := elementID(e)
			if o, ok := owner[id]; ok && o != key {
				clash = true
				continue
			}
			owner[id] = key
		}
		if !clash {
			continue
		}
		cp := *f
		cp.elements = nil
		for _, e := range f.elements {
			if owner[elementID(e)] == key {
				cp.elements = append(cp.elements, e)
			}
		}
		rs.services[key] = &cp
	}
}

// renderService renders the objects of one Service: for each port, the
// map elements that send its traffic to its chains (or reject it when it
// has no endpoints), its service chain choosing an endpoint at random, its
// external chain (NodePort and external IPs), its endpoint chains and
// affinity sets.
func renderService(cfg Config, svc *corev1.Service, eslices []*discoveryv1.EndpointSlice) *fragment {
	f := &fragment{}
	clusterIP := netip.MustParseAddr(svc.Spec.ClusterIP)
	f.addElement(&knftables.Element{Set: clusterIPsSet, Key: []string{clusterIP.String()}})
	for i := range svc.Spec.Ports {
		renderPort(cfg, f, svc, clusterIP, &svc.Spec.Ports[i], eslices)
	}
	// Ports share endpoints, and so hairpin elements: keep one of each.
	seen := make(map[string]bool, len(f.elements))
	f.elements = slices.DeleteFunc(f.elements, func(e *knftables.Element) bool {
		id := elementID(e)
		dup := seen[id]
		seen[id] = true
		return dup
	})
	f.sort()
	return f
}

// nftProtocol returns the nftables name of a Service port's protocol, ""
// when nftables cannot match it.
func nftProtocol(p corev1.Protocol) string {
	switch p {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return strings.ToLower(string(p))
	}
	return ""
}

func renderPort(cfg Config, f *fragment, svc *corev1.Service, clusterIP netip.Addr, sp *corev1.ServicePort, eslices []*discoveryv1.EndpointSlice) {
	proto := nftProtocol(sp.Protocol)
	if proto == "" {
		return
	}
	name := portName(svc.Namespace, svc.Name, proto, sp.Name)
	port := strconv.Itoa(int(sp.Port))
	eps := endpointsOf(sp, eslices)
	if svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal {
		eps = slices.DeleteFunc(eps, func(e endpoint) bool { return e.nodeName != cfg.NodeName })
	}
	externalIPs := externalIPsOf(svc)

	if len(eps) == 0 {
		reject := []string{"goto " + rejectChain}
		f.addElement(&knftables.Element{Map: noEndpointServicesMap, Key: []string{clusterIP.String(), proto, port}, Value: reject})
		for _, ip := range externalIPs {
			f.addElement(&knftables.Element{Map: noEndpointServicesMap, Key: []string{ip.String(), proto, port}, Value: reject})
		}
		if sp.NodePort != 0 {
			f.addElement(&knftables.Element{Map: noEndpointNodePortsMap, Key: []string{proto, strconv.Itoa(int(sp.NodePort))}, Value: reject})
		}
		return
	}

	masq := knftables.Concat("ip daddr", clusterIP, proto, "dport", port)
	if cfg.ClusterCIDR.IsValid() {
		masq = knftables.Concat(masq, "ip saddr !=", cfg.ClusterCIDR)
	}
	svcRules := []string{knftables.Concat(masq, "jump", markMasqChain)}
	for _, ep := range eps {
		f.addElement(&knftables.Element{Set: hairpinSet, Key: []string{ep.ip.String(), ep.ip.String()}})
	}
	if affinity := affinityTimeout(svc); affinity > 0 {
		svcRules = append(svcRules, affinityRules(f, name, proto, eps, affinity)...)
	} else {
		svcRules = append(svcRules, dnatRule(proto, eps))
	}
	svcChain := serviceChainPrefix + hashed(name, svcRules...)
	f.addChain(&knftables.Chain{Name: svcChain}, svcRules...)
	f.addElement(&knftables.Element{Map: serviceIPsMap, Key: []string{clusterIP.String(), proto, port}, Value: []string{"goto " + svcChain}})

	if sp.NodePort != 0 || len(externalIPs) > 0 {
		// Traffic from outside may come back through another node: it is
		// always masqueraded.
		extRules := []string{"jump " + markMasqChain, "goto " + svcChain}
		extChain := externalChainPrefix + hashed(name, extRules...)
		f.addChain(&knftables.Chain{Name: extChain}, extRules...)
		for _, ip := range externalIPs {
			f.addElement(&knftables.Element{Map: serviceIPsMap, Key: []string{ip.String(), proto, port}, Value: []string{"goto " + extChain}})
		}
		if sp.NodePort != 0 {
			f.addElement(&knftables.Element{Map: serviceNodePortsMap, Key: []string{proto, strconv.Itoa(int(sp.NodePort))}, Value: []string{"goto " + extChain}})
		}
	}
}

// dnatRule sends a connection to one of eps, each with the same chance:
// the service chain itself rewrites the destination, from an anonymous
// map indexed by a random number, so that a Service port needs one chain
// whatever its number of endpoints (kube-proxy's nftables mode has one
// chain per endpoint; with 1,000 Services of 10 endpoints that is 10,000
// more chains, which every nft transaction lists before it runs).
func dnatRule(proto string, eps []endpoint) string {
	if len(eps) == 1 {
		return knftables.Concat("meta l4proto", proto, "dnat to", eps[0].String())
	}
	elems := make([]string, len(eps))
	for i, ep := range eps {
		elems[i] = fmt.Sprintf("%d : %s . %d", i, ep.ip, ep.port)
	}
	return knftables.Concat("meta l4proto", proto, "dnat ip addr . port to numgen random mod", len(eps), "map {", strings.Join(elems, ", "), "}")
}

// affinityRules renders ClientIP session affinity, kube-proxy's way: one
// chain per endpoint, which records the client in the endpoint's affinity
// set and rewrites the destination; the service chain sends a client
// found in a set to that endpoint's chain, and others to one at random.
// It returns the service chain's rules after the masquerading one.
func affinityRules(f *fragment, name, proto string, eps []endpoint, affinity time.Duration) []string {
	var rules []string
	vmap := make([]string, len(eps))
	for i, ep := range eps {
		epName := endpointName(name, ep)
		set := affinitySetPrefix + hashed(epName, affinity.String())
		f.sets = append(f.sets, &knftables.Set{Name: set, Type: "ipv4_addr",
			Flags: []knftables.SetFlag{knftables.DynamicFlag, knftables.TimeoutFlag}, Timeout: ptr.To(affinity)})
		epRules := []string{
			"update @" + set + " { ip saddr }",
			knftables.Concat("meta l4proto", proto, "dnat to", ep.String()),
		}
		epChain := endpointChainPrefix + hashed(epName, epRules...)
		f.addChain(&knftables.Chain{Name: epChain}, epRules...)
		rules = append(rules, knftables.Concat("ip saddr @"+set, "goto", epChain))
		vmap[i] = strconv.Itoa(i) + " : goto " + epChain
	}
	return append(rules, knftables.Concat("numgen random mod", len(eps), "vmap {", strings.Join(vmap, " , "), "}"))
}

// externalIPsOf returns svc's valid IPv4 external IPs.
func externalIPsOf(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, s := range svc.Spec.ExternalIPs {
		if ip, err := netip.ParseAddr(s); err == nil && ip.Is4() {
			out = append(out, ip)
		}
	}
	return out
}

// affinityTimeout returns how long a ClientIP session affinity lasts, 0
// without one.
func affinityTimeout(svc *corev1.Service) time.Duration {
	if svc.Spec.SessionAffinity != corev1.ServiceAffinityClientIP {
		return 0
	}
	secs := corev1.DefaultClientIPServiceAffinitySeconds
	if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
		secs = *c.ClientIP.TimeoutSeconds
	}
	return time.Duration(secs) * time.Second
}
