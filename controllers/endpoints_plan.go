package controllers

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Labels on the EndpointSlices navarch manages, Kubernetes' names.
const (
	// EndpointSliceManagedBy is the managed-by value of the slices the
	// EndpointSlice controller writes.
	EndpointSliceManagedBy = "endpointslice-controller.k8s.io"
	// MaxEndpointsPerSlice caps one slice (Kubernetes' default).
	MaxEndpointsPerSlice = 100
	// headlessLabel marks the Endpoints and slices of a headless Service.
	headlessLabel = "service.kubernetes.io/headless"
)

// podInEndpoints reports whether a pod belongs in its Service's
// endpoints: it has an IP and has not finished; a pod being deleted only
// when the Service publishes not-ready addresses (ShouldPodBeInEndpoints).
func podInEndpoints(p *corev1.Pod, includeTerminating bool) bool {
	if p.Status.PodIP == "" || isPodTerminal(p) {
		return false
	}
	return includeTerminating || p.DeletionTimestamp == nil
}

// resolvePort finds the container port a Service port targets on pod: a
// number is itself; a name is looked up among the containers' ports with
// the same protocol. ok is false when a name is not found.
func resolvePort(p *corev1.Pod, sp *corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	if tp.Type == intstr.Int {
		if tp.IntVal == 0 {
			return sp.Port, true
		}
		return tp.IntVal, true
	}
	if tp.StrVal == "" {
		return sp.Port, true
	}
	proto := sp.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			cproto := cp.Protocol
			if cproto == "" {
				cproto = corev1.ProtocolTCP
			}
			if cp.Name == tp.StrVal && cproto == proto {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// servicePorts resolves every Service port on pod; a port that does not
// resolve is left out.
func servicePorts(svc *corev1.Service, p *corev1.Pod) []corev1.EndpointPort {
	var out []corev1.EndpointPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		port, ok := resolvePort(p, sp)
		if !ok {
			continue
		}
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = append(out, corev1.EndpointPort{Name: sp.Name, Port: port, Protocol: proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

func isHeadless(svc *corev1.Service) bool { return svc.Spec.ClusterIP == corev1.ClusterIPNone }

// endpointLabels are the Service's labels plus the headless mark.
func endpointLabels(svc *corev1.Service) map[string]string {
	out := make(map[string]string, len(svc.Labels)+2)
	for k, v := range svc.Labels {
		out[k] = v
	}
	if isHeadless(svc) {
		out[headlessLabel] = ""
	}
	return out
}

// EndpointsFor computes the Endpoints object of a Service with a selector
// from the pods it selects (syncService of Kubernetes' endpoints
// controller): one address per pod with an IP — in addresses when the pod
// is ready (or the Service publishes not-ready addresses), else in
// notReadyAddresses — grouped into subsets by their resolved ports, sorted
// so that equal inputs give equal objects. A headless Service without
// ports lists its pods' addresses with no ports.
func EndpointsFor(svc *corev1.Service, pods []*corev1.Pod) *corev1.Endpoints {
	type subset struct {
		ports           []corev1.EndpointPort
		ready, notReady []corev1.EndpointAddress
	}
	subsets := map[string]*subset{}
	for _, p := range pods {
		if !podInEndpoints(p, svc.Spec.PublishNotReadyAddresses) {
			continue
		}
		addr := corev1.EndpointAddress{
			IP: p.Status.PodIP, NodeName: nodeNamePtr(p.Spec.NodeName),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		}
		if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name && svc.Namespace == p.Namespace {
			addr.Hostname = p.Spec.Hostname
		}
		ports := servicePorts(svc, p)
		if len(ports) == 0 && !(len(svc.Spec.Ports) == 0 && isHeadless(svc)) {
			continue
		}
		key := portsKey(ports)
		s, ok := subsets[key]
		if !ok {
			s = &subset{ports: ports}
			subsets[key] = s
		}
		if isPodReady(p) || svc.Spec.PublishNotReadyAddresses {
			s.ready = append(s.ready, addr)
		} else {
			s.notReady = append(s.notReady, addr)
		}
	}
	keys := make([]string, 0, len(subsets))
	for k := range subsets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace, Labels: endpointLabels(svc)}}
	for _, k := range keys {
		s := subsets[k]
		sortAddresses(s.ready)
		sortAddresses(s.notReady)
		ep.Subsets = append(ep.Subsets, corev1.EndpointSubset{Addresses: s.ready, NotReadyAddresses: s.notReady, Ports: s.ports})
	}
	return ep
}

func nodeNamePtr(n string) *string {
	if n == "" {
		return nil
	}
	return &n
}

func portsKey(ports []corev1.EndpointPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%s/%s/%d", p.Name, p.Protocol, p.Port)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func sortAddresses(a []corev1.EndpointAddress) {
	sort.Slice(a, func(i, j int) bool {
		if a[i].IP != a[j].IP {
			return a[i].IP < a[j].IP
		}
		return a[i].TargetRef.UID < a[j].TargetRef.UID
	})
}

// EndpointSlicesFor computes the EndpointSlices of a Service with a
// selector: one endpoint per pod with an IP of the Service's address
// family, with ready, serving and terminating conditions; pods grouped by
// their resolved ports, each group cut into slices of at most
// maxPerSlice endpoints (MaxEndpointsPerSlice when 0), endpoints sorted
// by address. The slices have no names: the shell matches them to the
// stored ones.
func EndpointSlicesFor(svc *corev1.Service, pods []*corev1.Pod, maxPerSlice int) []*discoveryv1.EndpointSlice {
	if maxPerSlice <= 0 {
		maxPerSlice = MaxEndpointsPerSlice
	}
	family := discoveryv1.AddressTypeIPv4
	if len(svc.Spec.IPFamilies) > 0 && svc.Spec.IPFamilies[0] == corev1.IPv6Protocol {
		family = discoveryv1.AddressTypeIPv6
	}
	groups := map[string][]discoveryv1.Endpoint{}
	groupPorts := map[string][]discoveryv1.EndpointPort{}
	for _, p := range pods {
		if !podInEndpoints(p, true) {
			continue
		}
		ip := podIP(p, family)
		if ip == "" {
			continue
		}
		ports := servicePorts(svc, p)
		if len(ports) == 0 && len(svc.Spec.Ports) > 0 {
			continue
		}
		terminating := p.DeletionTimestamp != nil
		ready := isPodReady(p)
		ep := discoveryv1.Endpoint{
			Addresses: []string{ip},
			Conditions: discoveryv1.EndpointConditions{
				Ready:       ptrTo((ready && !terminating) || svc.Spec.PublishNotReadyAddresses),
				Serving:     ptrTo(ready || svc.Spec.PublishNotReadyAddresses),
				Terminating: ptrTo(terminating),
			},
			NodeName:  nodeNamePtr(p.Spec.NodeName),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		}
		if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name {
			ep.Hostname = &p.Spec.Hostname
		}
		key := portsKey(ports)
		groups[key] = append(groups[key], ep)
		if _, ok := groupPorts[key]; !ok {
			groupPorts[key] = slicePorts(ports)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*discoveryv1.EndpointSlice
	for _, k := range keys {
		eps := groups[k]
		sort.Slice(eps, func(i, j int) bool { return eps[i].Addresses[0] < eps[j].Addresses[0] })
		for start := 0; start < len(eps); start += maxPerSlice {
			out = append(out, newSlice(svc, family, groupPorts[k], eps[start:min(start+maxPerSlice, len(eps))]))
		}
	}
	if len(out) == 0 {
		// An empty slice says "no endpoints" (Kubernetes keeps one too).
		out = append(out, newSlice(svc, family, nil, nil))
	}
	return out
}

func newSlice(svc *corev1.Service, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	labels := endpointLabels(svc)
	labels[discoveryv1.LabelServiceName] = svc.Name
	labels[discoveryv1.LabelManagedBy] = EndpointSliceManagedBy
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    svc.Name + "-",
			Namespace:       svc.Namespace,
			Labels:          labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(svc, corev1.SchemeGroupVersion.WithKind("Service"))},
		},
		AddressType: family,
		Endpoints:   append([]discoveryv1.Endpoint(nil), eps...),
		Ports:       ports,
	}
}

func slicePorts(ports []corev1.EndpointPort) []discoveryv1.EndpointPort {
	out := make([]discoveryv1.EndpointPort, len(ports))
	for i, p := range ports {
		out[i] = discoveryv1.EndpointPort{Name: ptrTo(p.Name), Port: ptrTo(p.Port), Protocol: ptrTo(p.Protocol), AppProtocol: p.AppProtocol}
	}
	return out
}

// podIP is the pod's IP of the family, or "".
func podIP(p *corev1.Pod, family discoveryv1.AddressType) string {
	ips := []string{p.Status.PodIP}
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			continue
		}
		if (ip.To4() != nil) == (family == discoveryv1.AddressTypeIPv4) {
			return s
		}
	}
	return ""
}

func ptrTo[T any](v T) *T { return &v }
