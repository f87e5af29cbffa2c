package apiserver_test

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/testserver"
)

func newService(name string, typ corev1.ServiceType) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type: typ, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}},
		},
	}
}

func TestServicesGetClusterIPsAndNodePortsFromTheirRanges(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	svcs := srv.ClientSet().CoreV1().Services("default")
	cidr := netip.MustParsePrefix("10.96.0.0/12")

	seen := map[string]bool{}
	for _, name := range []string{"a", "b", "c"} {
		svc, err := svcs.Create(ctx, newService(name, ""), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
		if err != nil || !cidr.Contains(ip) || ip == netip.MustParseAddr("10.96.0.1") || seen[svc.Spec.ClusterIP] {
			t.Errorf("service %s: cluster IP %q, want a fresh address of %s other than 10.96.0.1", name, svc.Spec.ClusterIP, cidr)
		}
		seen[svc.Spec.ClusterIP] = true
		if len(svc.Spec.ClusterIPs) != 1 || svc.Spec.ClusterIPs[0] != svc.Spec.ClusterIP || len(svc.Spec.IPFamilies) != 1 || svc.Spec.IPFamilies[0] != corev1.IPv4Protocol {
			t.Errorf("service %s: clusterIPs %v families %v, want the one IPv4 address", name, svc.Spec.ClusterIPs, svc.Spec.IPFamilies)
		}
	}

	np, err := svcs.Create(ctx, newService("np", corev1.ServiceTypeNodePort), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := np.Spec.Ports[0].NodePort; p < 30000 || p > 32767 {
		t.Errorf("node port %d, want one in 30000-32767", p)
	}

	headless := newService("headless", "")
	headless.Spec.ClusterIP = corev1.ClusterIPNone
	if h, err := svcs.Create(ctx, headless, metav1.CreateOptions{}); err != nil || h.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("headless service: %v, cluster IP %q; want None kept", err, h.Spec.ClusterIP)
	}

	taken := newService("taken", "")
	taken.Spec.ClusterIP = np.Spec.ClusterIP
	if _, err := svcs.Create(ctx, taken, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("a cluster IP in use: got %v, want 422", err)
	}
	outside := newService("outside", "")
	outside.Spec.ClusterIP = "192.168.1.1"
	if _, err := svcs.Create(ctx, outside, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("a cluster IP outside the range: got %v, want 422", err)
	}
	samePort := newService("sameport", corev1.ServiceTypeNodePort)
	samePort.Spec.Ports[0].NodePort = np.Spec.Ports[0].NodePort
	if _, err := svcs.Create(ctx, samePort, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("a node port in use: got %v, want 422", err)
	}

	// A PUT of the manifest without the allocated values keeps them; a
	// change of type to NodePort allocates a port.
	a, err := svcs.Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	manifest := newService("a", corev1.ServiceTypeNodePort)
	manifest.ResourceVersion = a.ResourceVersion
	updated, err := svcs.Update(ctx, manifest, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update to NodePort: %v", err)
	}
	if updated.Spec.ClusterIP != a.Spec.ClusterIP || updated.Spec.Ports[0].NodePort == 0 {
		t.Errorf("after the update: cluster IP %q (was %q), node port %d; want the IP kept and a port", updated.Spec.ClusterIP, a.Spec.ClusterIP, updated.Spec.Ports[0].NodePort)
	}
}
