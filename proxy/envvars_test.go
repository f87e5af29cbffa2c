package proxy

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestServiceEnvironmentIsKubernetesOwn(t *testing.T) {
	web := newService("default", "my-web", "10.96.0.10", tcp("http", 80), svcPort{"metrics", 9090, corev1.ProtocolUDP, 0})
	headless := newService("default", "headless", corev1.ClusterIPNone, tcp("http", 80))
	got := ServiceEnvironment([]*corev1.Service{web, headless})
	want := []corev1.EnvVar{
		{Name: "MY_WEB_SERVICE_HOST", Value: "10.96.0.10"},
		{Name: "MY_WEB_SERVICE_PORT", Value: "80"},
		{Name: "MY_WEB_SERVICE_PORT_HTTP", Value: "80"},
		{Name: "MY_WEB_SERVICE_PORT_METRICS", Value: "9090"},
		{Name: "MY_WEB_PORT", Value: "tcp://10.96.0.10:80"},
		{Name: "MY_WEB_PORT_80_TCP", Value: "tcp://10.96.0.10:80"},
		{Name: "MY_WEB_PORT_80_TCP_PROTO", Value: "tcp"},
		{Name: "MY_WEB_PORT_80_TCP_PORT", Value: "80"},
		{Name: "MY_WEB_PORT_80_TCP_ADDR", Value: "10.96.0.10"},
		{Name: "MY_WEB_PORT_9090_UDP", Value: "udp://10.96.0.10:9090"},
		{Name: "MY_WEB_PORT_9090_UDP_PROTO", Value: "udp"},
		{Name: "MY_WEB_PORT_9090_UDP_PORT", Value: "9090"},
		{Name: "MY_WEB_PORT_9090_UDP_ADDR", Value: "10.96.0.10"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d variables %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("variable %d: got %s=%s, want %s=%s", i, got[i].Name, got[i].Value, want[i].Name, want[i].Value)
		}
	}
}
