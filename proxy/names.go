package proxy

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"

	"sigs.k8s.io/knftables"
)

// Names of the table's fixed objects, as kube-proxy's nftables mode names
// them. Objects of one Service port have a prefix and a hashed name (see
// servicePortName).
const (
	servicesChain          = "services"
	serviceIPsMap          = "service-ips"
	serviceNodePortsMap    = "service-nodeports"
	nodePortIPsSet         = "nodeport-ips"
	clusterIPsSet          = "cluster-ips"
	clusterIPsCheckChain   = "cluster-ips-check"
	endpointsCheckChain    = "endpoints-check"
	noEndpointServicesMap  = "no-endpoint-services"
	noEndpointNodePortsMap = "no-endpoint-nodeports"
	rejectChain            = "reject-chain"
	markMasqChain          = "mark-for-masquerade"
	masqueradingChain      = "masquerading"
	hairpinSet             = "hairpin-endpoints"

	serviceChainPrefix  = "service-"
	externalChainPrefix = "external-"
	endpointChainPrefix = "endpoint-"
	affinitySetPrefix   = "affinity-"
)

// masqueradeMark is the packet mark bit that asks for masquerading in
// postrouting (kube-proxy's default bit 14).
const masqueradeMark = "0x4000"

// maxBaseName is the longest name part after a prefix (the longest prefix
// is 16 characters at most).
const maxBaseName = knftables.NameLengthMax - 16

// hashed returns name prefixed with a short hash of itself and of content
// (the rules of the chain, or the timeout of the set, being named), cut to
// maxBaseName. Names are content-addressed: a chain of a given name always
// holds the same rules, so a sync finding a Service chain already in the
// kernel (after a restart) leaves it as it is, and a chain whose rules
// change gets a new name. The hash also keeps names unique when cut, and
// makes names that differ in one digit look different at a glance.
func hashed(name string, content ...string) string {
	h := sha256.New()
	h.Write([]byte(name))
	for _, c := range content {
		h.Write([]byte{0})
		h.Write([]byte(c))
	}
	name = base32.StdEncoding.EncodeToString(h.Sum(nil))[:8] + "-" + name
	if len(name) > maxBaseName {
		name = name[:maxBaseName-3] + "..."
	}
	return name
}

// portName is a Service port's name in chain names:
// namespace/name/protocol/port-name. Namespaces, names and port names hold
// [a-z0-9-] only, so "/" cannot be part of any of them.
func portName(namespace, name, protocol, port string) string {
	return fmt.Sprintf("%s/%s/%s/%s", namespace, name, protocol, port)
}

// endpointName is an endpoint's part of chain and set names:
// <port name>__<ip>/<port>.
func endpointName(port string, ep endpoint) string {
	return fmt.Sprintf("%s__%s/%d", port, ep.ip, ep.port)
}

// isServiceObject reports whether a chain or set name belongs to a
// Service port (those names hold a "/"; the fixed ones do not).
func isServiceObject(name string) bool { return strings.Contains(name, "/") }
