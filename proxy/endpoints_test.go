package proxy

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

func TestEndpointsOfAPort(t *testing.T) {
	http := &corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}
	ready := func(ip string) ep { return readyEP(ip) }
	ipv6 := newSlice("ns", "s", "v6", "http", 8080, corev1.ProtocolTCP, ready("fd00::1"))
	ipv6.AddressType = discoveryv1.AddressTypeIPv6
	unset := newSlice("ns", "s", "unset", "http", 8080, corev1.ProtocolTCP, ready("10.0.0.9"))
	unset.Endpoints[0].Conditions = discoveryv1.EndpointConditions{}
	unnamed := newSlice("ns", "s", "unnamed", "", 8080, corev1.ProtocolTCP, ready("10.0.0.1"))
	unnamed.Ports[0].Name, unnamed.Ports[0].Protocol = nil, nil

	tests := []struct {
		name   string
		port   *corev1.ServicePort
		slices []*discoveryv1.EndpointSlice
		want   string
	}{
		{"ready endpoints, sorted", http, []*discoveryv1.EndpointSlice{
			newSlice("ns", "s", "1", "http", 8080, corev1.ProtocolTCP, ready("10.0.0.3"), ready("10.0.0.1"))},
			"[10.0.0.1:8080 10.0.0.3:8080]"},
		{"not ready ones are left out", http, []*discoveryv1.EndpointSlice{
			newSlice("ns", "s", "1", "http", 8080, corev1.ProtocolTCP, ready("10.0.0.1"), ep{ip: "10.0.0.2"})},
			"[10.0.0.1:8080]"},
		{"an endpoint in two slices counts once", http, []*discoveryv1.EndpointSlice{
			newSlice("ns", "s", "1", "http", 8080, corev1.ProtocolTCP, ready("10.0.0.1")),
			newSlice("ns", "s", "2", "http", 8080, corev1.ProtocolTCP, ep{ip: "10.0.0.1"}, ready("10.0.0.1"))},
			"[10.0.0.1:8080]"},
		{"terminating but serving only without ready ones", http, []*discoveryv1.EndpointSlice{
			newSlice("ns", "s", "1", "http", 8080, corev1.ProtocolTCP,
				ep{ip: "10.0.0.1", serving: true, terminating: true}, ep{ip: "10.0.0.2", terminating: true})},
			"[10.0.0.1:8080]"},
		{"ports match by name and protocol", http, []*discoveryv1.EndpointSlice{
			newSlice("ns", "s", "1", "metrics", 9090, corev1.ProtocolTCP, ready("10.0.0.1")),
			newSlice("ns", "s", "2", "http", 8080, corev1.ProtocolUDP, ready("10.0.0.2"))},
			"[]"},
		{"unset conditions mean ready", http, []*discoveryv1.EndpointSlice{unset}, "[10.0.0.9:8080]"},
		{"an unnamed port matches an unnamed TCP port", &corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP},
			[]*discoveryv1.EndpointSlice{unnamed}, "[10.0.0.1:8080]"},
		{"IPv6 slices are ignored", http, []*discoveryv1.EndpointSlice{ipv6}, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(endpointsOf(tt.port, tt.slices)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
