package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/proxy"
)

// startProxier runs a Proxier for the test network against cs, on a table
// of its own, and removes its table and route when the test ends. Its
// Service CIDR is the one address serviceIP: the test routes locally
// nothing but what it uses, whatever range the API server allocates from.
func startProxier(t *testing.T, n *testNet, cs kubernetes.Interface, serviceIP string) string {
	t.Helper()
	table := "navarch-test-" + n.suffix
	runProxier(t, proxy.Options{
		NodeName: "node-a", NodeIPs: []string{n.gateway}, TableName: table, ServiceCIDR: serviceIP + "/32", ClusterCIDR: n.podCIDR,
		Client: cs, MinSyncInterval: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	return table
}

// runProxier runs a Proxier of opts until the test ends, then removes its
// table and the local route of its Service CIDR.
func runProxier(tb testing.TB, opts proxy.Options) {
	tb.Helper()
	p, err := proxy.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("proxier: %v", err)
		}
		if err := proxy.Cleanup(context.Background(), opts.TableName, opts.ServiceCIDR); err != nil {
			tb.Errorf("cleanup: %v", err)
		}
	})
}

func endpointSlice(name string, port int32, ips ...string) *discoveryv1.EndpointSlice {
	es := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, ip := range ips {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{ip}, NodeName: ptr.To("node-a"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		})
	}
	return es
}

// TestServiceTrafficReachesReadyEndpoints runs the whole datapath without
// containers: two network namespaces on a test bridge serve HTTP, a real
// API server holds the Service and its EndpointSlice, and a Proxier
// programs nftables from them.
func TestServiceTrafficReachesReadyEndpoints(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	n := newTestNet(t)
	podA, podB := n.addPod(t, "a", 2), n.addPod(t, "b", 3)
	serveName(t, podA, "a")
	serveName(t, podB, "b")

	srv := testserver.Start(t)
	cs := srv.ClientSet()
	nodePort := int32(30000 + rand.IntN(2768))
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: nodePort}},
		},
	}
	svc, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	clusterIP := svc.Spec.ClusterIP
	es, err := cs.DiscoveryV1().EndpointSlices("default").Create(ctx, endpointSlice("web", 8080, n.ip(2), n.ip(3)), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create endpointslice: %v", err)
	}
	table := startProxier(t, n, cs, clusterIP)

	clusterURL := fmt.Sprintf("http://%s:80/", clusterIP)
	host := client("")
	eventually(t, 10*time.Second, "the cluster IP to answer", func() bool { _, err := get(host, clusterURL); return err == nil })

	t.Run("300 requests from the host reach both endpoints evenly", func(t *testing.T) {
		got := tally(t, host, clusterURL, 300)
		t.Logf("answers: %v", got)
		if got["a"] < 45 || got["b"] < 45 || got["a"]+got["b"] != 300 {
			t.Errorf("got %v, want each endpoint at least 15%% of 300", got)
		}
	})
	t.Run("300 requests from a pod reach both endpoints, itself included", func(t *testing.T) {
		got := tally(t, client(podA), clusterURL, 300)
		t.Logf("answers: %v", got)
		if got["a"] < 45 || got["b"] < 45 {
			t.Errorf("got %v, want each endpoint at least 15%% of 300", got)
		}
	})
	t.Run("the NodePort answers on 127.0.0.1", func(t *testing.T) {
		got := tally(t, host, fmt.Sprintf("http://127.0.0.1:%d/", nodePort), 20)
		if got["a"]+got["b"] != 20 {
			t.Errorf("got %v, want 20 answers from the endpoints", got)
		}
	})
	t.Run("the NodePort answers on the node's address, to the host and to pods", func(t *testing.T) {
		url := fmt.Sprintf("http://%s:%d/", n.gateway, nodePort)
		for _, from := range []string{"", podB} {
			got := tally(t, client(from), url, 40)
			if got["a"] == 0 || got["b"] == 0 || got["a"]+got["b"] != 40 {
				t.Errorf("from %q: got %v, want 40 answers from both endpoints", from, got)
			}
		}
	})
	t.Run("a port the Service does not have is refused", func(t *testing.T) {
		_, err := get(host, fmt.Sprintf("http://%s:81/", clusterIP))
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("got %v, want connection refused", err)
		}
	})

	t.Run("an endpoint removed gets no more traffic", func(t *testing.T) {
		es.Endpoints = es.Endpoints[:1] // only a
		var err error
		if es, err = cs.DiscoveryV1().EndpointSlices("default").Update(ctx, es, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "only a to answer", func() bool {
			got := tally(t, host, clusterURL, 20)
			return got["a"] == 20
		})
		if got := tally(t, host, clusterURL, 100); got["a"] != 100 {
			t.Errorf("got %v, want all 100 from a", got)
		}
	})

	t.Run("an endpoint that is not ready gets no traffic", func(t *testing.T) {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{n.ip(3)}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)},
		})
		var err error
		if es, err = cs.DiscoveryV1().EndpointSlices("default").Update(ctx, es, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		if got := tally(t, host, clusterURL, 100); got["a"] != 100 {
			t.Errorf("got %v, want all 100 from a", got)
		}
	})

	t.Run("a Service without ready endpoints refuses connections", func(t *testing.T) {
		es.Endpoints = nil
		if _, err := cs.DiscoveryV1().EndpointSlices("default").Update(ctx, es, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "connections to be refused", func() bool {
			_, err := get(host, clusterURL)
			return errors.Is(err, syscall.ECONNREFUSED)
		})
		if _, err := get(host, fmt.Sprintf("http://127.0.0.1:%d/", nodePort)); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("the NodePort: got %v, want connection refused", err)
		}
	})

	t.Run("deleting the Service removes its rules", func(t *testing.T) {
		// Its chains go, and every set and map but nodeport-ips is empty again.
		if err := cs.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		var listing string
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := exec.Command("nft", "list", "table", "ip", table).Output()
			listing = string(out)
			if err == nil && !strings.Contains(listing, "default/web/") && strings.Count(listing, "elements = ") == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the Service's rules are still there after 10s:\n%s", listing)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Nothing answers on the address, and nothing leaves the host for it.
		if _, err := get(client(""), clusterURL); err == nil {
			t.Errorf("the deleted Service's address still answers")
		}
	})
}
