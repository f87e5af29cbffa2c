package proxy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/apiserver"
	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/proxy"
)

// BenchmarkEndpointSliceChangeToRules measures, with 1,000 Services of 10
// endpoints each in a real API server, the time from an EndpointSlice
// update's response to the end of the sync that put it into nftables:
// watch delivery, informer, render, diff and nft transaction.
func BenchmarkEndpointSliceChangeToRules(b *testing.B) {
	requireRoot(b)
	ctx := context.Background()
	// Cluster IPs from a range no one uses here, so that the benchmark's
	// rules catch no one else's traffic.
	srv := testserver.Start(b, testserver.WithServerOptions(func(o *apiserver.Options) { o.ServiceCIDR = "10.251.0.0/16" }))
	cs := srv.ClientSet()
	const services, endpoints = 1000, 10
	x := 200 + int(time.Now().UnixNano()%50)
	serviceCIDR := fmt.Sprintf("10.250.%d.0/24", x)

	eslices := createServices(b, cs, services, endpoints)

	syncs := make(chan proxy.SyncInfo, 1024)
	table := fmt.Sprintf("navarch-bench-%d", x)
	runProxier(b, proxy.Options{
		NodeName: "node-a", TableName: table, ServiceCIDR: serviceCIDR, Client: cs,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnSync: func(info proxy.SyncInfo) { syncs <- info },
	})
	first := <-syncs
	if first.Err != nil || !first.Full || first.Services != services {
		b.Fatalf("first sync: %+v", first)
	}
	b.Logf("first (full) sync of %d Services: render %s, apply %s", first.Services, first.Render, first.Apply)

	var took, applies []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % services
		es := eslices[k].DeepCopy()
		es.Endpoints[0].Addresses = []string{fmt.Sprintf("10.245.%d.%d", (i/250)%250, i%250+1)}
		updated, err := cs.DiscoveryV1().EndpointSlices("default").Update(ctx, es, metav1.UpdateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		eslices[k] = updated
		for info := range syncs {
			if info.Err != nil {
				b.Fatal(info.Err)
			}
			if info.Operations > 0 {
				applies = append(applies, info.Render+info.Apply)
				break
			}
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	slices.Sort(applies)
	if len(took) > 0 {
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
		b.ReportMetric(ms(took[(len(took)-1)*99/100]), "p99-ms")
		// The part of it spent rendering and in nft.
		b.ReportMetric(ms(applies[(len(applies)-1)*99/100]), "p99-sync-ms")
	}
}

// createServices creates the given number of Services of endpoints each (one
// EndpointSlice each) in the default namespace, eight at a time, and
// returns the EndpointSlices.
func createServices(b *testing.B, cs kubernetes.Interface, services, endpoints int) []*discoveryv1.EndpointSlice {
	b.Helper()
	ctx := context.Background()
	eslices := make([]*discoveryv1.EndpointSlice, services)
	var wg sync.WaitGroup
	errs := make(chan error, services)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < services; i += 8 {
				name := fmt.Sprintf("svc-%d", i)
				svc := &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec: corev1.ServiceSpec{
						ClusterIP: fmt.Sprintf("10.251.%d.%d", i/250, i%250+2),
						Ports:     []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
					},
				}
				if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
				es := &discoveryv1.EndpointSlice{
					ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
					AddressType: discoveryv1.AddressTypeIPv4,
					Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080)), Protocol: ptr.To(corev1.ProtocolTCP)}},
				}
				for j := 0; j < endpoints; j++ {
					es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
						Addresses:  []string{fmt.Sprintf("10.244.%d.%d", i/25, (i%25)*10+j+1)},
						Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
					})
				}
				created, err := cs.DiscoveryV1().EndpointSlices("default").Create(ctx, es, metav1.CreateOptions{})
				if err != nil {
					errs <- err
					return
				}
				eslices[i] = created
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("create: %v", err)
	}
	return eslices

}
