package proxy

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// benchServiceCIDR holds the cluster IPs of the benchmarks' Services: a
// range no one uses here, so that the rules of a benchmark's table catch
// no one else's traffic.
const benchServiceCIDR = "10.251.0.0/16"

// testConfig is the configuration of the golden tests.
var testConfig = Config{
	TableName:   "navarch",
	ServiceCIDR: netip.MustParsePrefix("10.96.0.0/12"),
	ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"),
	NodeName:    "node-a",
	NodeIPs:     []netip.Addr{netip.MustParseAddr("192.0.2.10")},
}

// svcPort is a Service port for fixtures.
type svcPort struct {
	name     string
	port     int32
	protocol corev1.Protocol
	nodePort int32
}

func tcp(name string, port int32) svcPort {
	return svcPort{name: name, port: port, protocol: corev1.ProtocolTCP}
}

// newService returns a ClusterIP Service (NodePort when a port has one).
func newService(ns, name, clusterIP string, ports ...svcPort) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: clusterIP, ClusterIPs: []string{clusterIP},
			Selector: map[string]string{"app": name},
		},
	}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name: p.name, Port: p.port, Protocol: p.protocol, NodePort: p.nodePort, TargetPort: intstr.FromInt32(p.port),
		})
		if p.nodePort != 0 {
			svc.Spec.Type = corev1.ServiceTypeNodePort
		}
	}
	return svc
}

// ep is an endpoint for fixtures: address, node and conditions.
type ep struct {
	ip                          string
	node                        string
	ready, serving, terminating bool
}

func readyEP(ip string) ep { return ep{ip: ip, node: "node-a", ready: true, serving: true} }

// newSlice returns an EndpointSlice of Service name with one port.
func newSlice(ns, svc, slice, portName string, port int32, protocol corev1.Protocol, eps ...ep) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: slice, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(portName), Port: ptr.To(port), Protocol: ptr.To(protocol)}},
	}
	for _, e := range eps {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{e.ip},
			NodeName:  ptr.To(e.node),
			Conditions: discoveryv1.EndpointConditions{
				Ready: ptr.To(e.ready), Serving: ptr.To(e.serving), Terminating: ptr.To(e.terminating),
			},
		})
	}
	return es
}

// scale returns n Services of eps endpoints each, in namespace "bench".
func scale(n, eps int) ([]*corev1.Service, []*discoveryv1.EndpointSlice) {
	var services []*corev1.Service
	var eslices []*discoveryv1.EndpointSlice
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("svc-%d", i)
		ip := fmt.Sprintf("10.251.%d.%d", i/250, i%250+2) // benchServiceCIDR
		services = append(services, newService("bench", name, ip, tcp("http", 80)))
		var list []ep
		for j := 0; j < eps; j++ {
			list = append(list, readyEP(fmt.Sprintf("10.244.%d.%d", i/25, (i%25)*10+j+1)))
		}
		eslices = append(eslices, newSlice("bench", name, name+"-abcde", "http", 8080, corev1.ProtocolTCP, list...))
	}
	return services, eslices
}
