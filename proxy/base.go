package proxy

import (
	"strconv"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"
)

// baseChain is one of the table's chains attached to a netfilter hook.
type baseChain struct {
	name     string
	typ      knftables.BaseChainType
	hook     knftables.BaseChainHook
	priority int
	rules    []string
}

// Priorities, numeric so that every nft since 1.0.1 accepts them on every
// hook ("dstnat" is -100, "srcnat" 100). Filter chains run just before
// destination NAT (they see Service addresses), except
// filter-output-post-dnat, which runs just after it.
const (
	priorityDNAT       = -100
	priorityFilter     = priorityDNAT - 10
	priorityPostDNAT   = priorityDNAT + 10
	prioritySNAT       = 100
	localhostNodePorts = "127.0.0.1"
)

// baseChains are the table's hooked chains. Rejections of Services without
// endpoints (endpoints-check) and of unused cluster IPs and ports
// (cluster-ips-check) are filter rules, because a reject is not allowed in
// a nat chain.
func baseChains() []baseChain {
	return []baseChain{
		{"filter-input", knftables.FilterType, knftables.InputHook, priorityFilter, []string{
			// route_localnet lets 127.0.0.1 be DNATed for NodePorts; it
			// would also let other hosts reach this host's loopback
			// services, so that traffic is dropped, as kube-proxy does.
			`iifname != "lo" ip daddr 127.0.0.0/8 ct state != { established, related } drop`,
			"ct state new jump " + endpointsCheckChain,
			"ct state new jump " + clusterIPsCheckChain,
		}},
		{"filter-forward", knftables.FilterType, knftables.ForwardHook, priorityFilter, []string{
			"ct state new jump " + endpointsCheckChain,
			"ct state new jump " + clusterIPsCheckChain,
		}},
		{"filter-output", knftables.FilterType, knftables.OutputHook, priorityFilter, []string{
			"ct state new jump " + endpointsCheckChain,
		}},
		{"filter-output-post-dnat", knftables.FilterType, knftables.OutputHook, priorityPostDNAT, []string{
			"ct state new jump " + clusterIPsCheckChain,
		}},
		{"nat-prerouting", knftables.NATType, knftables.PreroutingHook, priorityDNAT, []string{
			"jump " + servicesChain,
		}},
		{"nat-output", knftables.NATType, knftables.OutputHook, priorityDNAT, []string{
			"jump " + servicesChain,
			// NodePorts on 127.0.0.1, for this host's own connections only.
			"ip daddr " + localhostNodePorts + " meta l4proto . th dport vmap @" + serviceNodePortsMap,
		}},
		{"nat-postrouting", knftables.NATType, knftables.PostroutingHook, prioritySNAT, []string{
			"jump " + masqueradingChain,
		}},
	}
}

// renderBase renders the table's fixed objects.
func renderBase(cfg Config) *fragment {
	f := &fragment{}
	for _, bc := range baseChains() {
		prio := knftables.BaseChainPriority(strconv.Itoa(bc.priority))
		f.addChain(&knftables.Chain{Name: bc.name, Type: ptr.To(bc.typ), Hook: ptr.To(bc.hook), Priority: &prio}, bc.rules...)
	}
	f.addChain(&knftables.Chain{Name: servicesChain},
		"ip daddr . meta l4proto . th dport vmap @"+serviceIPsMap,
		"ip daddr @"+nodePortIPsSet+" meta l4proto . th dport vmap @"+serviceNodePortsMap)
	f.addChain(&knftables.Chain{Name: endpointsCheckChain},
		"ip daddr . meta l4proto . th dport vmap @"+noEndpointServicesMap,
		"ip daddr @"+nodePortIPsSet+" meta l4proto . th dport vmap @"+noEndpointNodePortsMap,
		"ip daddr "+localhostNodePorts+" meta l4proto . th dport vmap @"+noEndpointNodePortsMap)
	checks := f.addChain(&knftables.Chain{Name: clusterIPsCheckChain},
		"ip daddr @"+clusterIPsSet+" reject")
	if cfg.ServiceCIDR.IsValid() {
		checks.add("ip daddr " + cfg.ServiceCIDR.String() + " drop")
	}
	f.addChain(&knftables.Chain{Name: rejectChain}, "reject")
	f.addChain(&knftables.Chain{Name: markMasqChain}, "mark set mark or "+masqueradeMark)
	f.addChain(&knftables.Chain{Name: masqueradingChain},
		// A pod reaching itself through a Service: its reply must come
		// back through this node, not from its own address.
		"ip saddr . ip daddr @"+hairpinSet+" jump "+markMasqChain,
		"mark and "+masqueradeMark+" == 0 return",
		"mark set mark xor "+masqueradeMark,
		"masquerade fully-random")

	f.sets = []*knftables.Set{
		{Name: clusterIPsSet, Type: "ipv4_addr", Comment: ptr.To("cluster IPs of Services")},
		{Name: nodePortIPsSet, Type: "ipv4_addr", Comment: ptr.To("addresses that accept NodePort traffic")},
		{Name: hairpinSet, Type: "ipv4_addr . ipv4_addr", Comment: ptr.To("endpoint . endpoint: a pod reaching itself through a Service is masqueraded")},
	}
	for _, ip := range cfg.NodeIPs {
		if ip.Is4() {
			f.addElement(&knftables.Element{Set: nodePortIPsSet, Key: []string{ip.String()}})
		}
	}
	f.maps = []*knftables.Map{
		{Name: serviceIPsMap, Type: "ipv4_addr . inet_proto . inet_service : verdict", Comment: ptr.To("cluster IP and external IP traffic")},
		{Name: serviceNodePortsMap, Type: "inet_proto . inet_service : verdict", Comment: ptr.To("NodePort traffic")},
		{Name: noEndpointServicesMap, Type: "ipv4_addr . inet_proto . inet_service : verdict", Comment: ptr.To("Services without endpoints")},
		{Name: noEndpointNodePortsMap, Type: "inet_proto . inet_service : verdict", Comment: ptr.To("NodePorts without endpoints")},
	}
	f.sort()
	return f
}
