package apiserver_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/internal/testserver"
)

// writeRate is the pace of the write-latency benchmark: 50 writes/s.
const writeRate = 50

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted durations,
// in milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i].Microseconds()) / 1000
}

func reportLatencies(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(percentile(lat, 50), "p50-ms")
	b.ReportMetric(percentile(lat, 99), "p99-ms")
	b.ReportMetric(float64(len(lat)), "samples")
}

// BenchmarkWriteLatency measures single-object creates and updates over
// HTTPS (client-go, one request at a time) at 50 writes/s; goal p99 ≤ 20 ms.
// Each iteration is one write: use -benchtime=500x for a steady p99.
func BenchmarkWriteLatency(b *testing.B) {
	srv := testserver.Start(b)
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	ctx := context.Background()
	pace := func(b *testing.B, write func(i int) error) {
		lat := make([]time.Duration, 0, b.N)
		tick := time.NewTicker(time.Second / writeRate)
		defer tick.Stop()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			<-tick.C
			start := time.Now()
			if err := write(i); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		b.StopTimer()
		reportLatencies(b, lat)
	}
	run := 0
	b.Run("create", func(b *testing.B) {
		run++
		pace(b, func(i int) error {
			_, err := cms.Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c-%d-%d", run, i), Labels: map[string]string{"app": "bench"}},
				Data:       map[string]string{"key": "value"},
			}, metav1.CreateOptions{})
			return err
		})
	})
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "updated"}, Data: map[string]string{}}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("update", func(b *testing.B) {
		pace(b, func(i int) error {
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			cm.Data["n"] = strconv.Itoa(i)
			next, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
			if err == nil {
				cm = next
			}
			return err
		})
	})
}

// benchPod is a pod of typical size: two containers with resources, env,
// ports, probes, labels and a node.
func benchPod(i int) *corev1.Pod {
	c := func(name string) corev1.Container {
		return corev1.Container{
			Name: name, Image: "registry.example.com/shop/" + name + ":1.4.2",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			Env:   []corev1.EnvVar{{Name: "MODE", Value: "production"}, {Name: "LOG_LEVEL", Value: "info"}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intOrString(8080)}}},
		}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "default", Name: fmt.Sprintf("shop-%05d", i),
			Labels: map[string]string{"app": "shop", "pod-template-hash": "7d9f8c6b5"},
		},
		Spec: corev1.PodSpec{NodeName: fmt.Sprintf("node-%03d", i%100), Containers: []corev1.Container{c("app"), c("sidecar")}},
	}
}

// BenchmarkList10000Pods measures a LIST of 10,000 pods over HTTPS with
// client-go; goal ≤ 1 s.
func BenchmarkList10000Pods(b *testing.B) {
	srv := testserver.Start(b)
	seedPods(b, srv, 10000)
	pods := srv.ClientSet().CoreV1().Pods("default")
	b.Run("list", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			list, err := pods.List(context.Background(), metav1.ListOptions{})
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
			if len(list.Items) != 10000 {
				b.Fatalf("got %d pods, want 10000", len(list.Items))
			}
		}
		b.StopTimer()
		reportLatencies(b, lat)
	})
}

// seedPods stores n pods directly in the store, admitted as the server
// admits them (defaults, uid, timestamps), from 16 goroutines.
func seedPods(b *testing.B, srv *testserver.Server, n int) {
	b.Helper()
	res, _ := api.LookupResource(corev1.SchemeGroupVersion.WithResource("pods"))
	now := metav1.Now()
	work := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				p := benchPod(i)
				p.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
				api.Default(p)
				if err := api.PrepareForCreate(p, now); err != nil {
					errs <- err
					return
				}
				if err := srv.Store().Create(context.Background(), res.StorageKey(p.Namespace, p.Name), p); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case work <- i:
		case err := <-errs:
			b.Fatalf("seed pods: %v", err)
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("seed pods: %v", err)
	default:
	}
}

// BenchmarkWatchFanout measures how long one change takes to reach each of
// 100 concurrent watchers (client-go watches over one HTTPS connection);
// goal p99 ≤ 100 ms.
func BenchmarkWatchFanout(b *testing.B) {
	const watchers = 100
	srv := testserver.Start(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cms := srv.ClientSet().CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fanout"}}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("100-watchers", func(b *testing.B) {
		var mu sync.Mutex
		var lat []time.Duration
		var received sync.WaitGroup
		ready := make(chan struct{}, watchers)
		var all sync.WaitGroup
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		for w := 0; w < watchers; w++ {
			wi, err := cms.Watch(wctx, metav1.ListOptions{FieldSelector: "metadata.name=fanout", ResourceVersion: cm.ResourceVersion})
			if err != nil {
				b.Fatal(err)
			}
			all.Add(1)
			go func(wi watch.Interface) {
				defer all.Done()
				defer wi.Stop()
				ready <- struct{}{}
				for ev := range wi.ResultChan() {
					if ev.Type != watch.Modified {
						continue
					}
					got := time.Now()
					sent, _ := strconv.ParseInt(ev.Object.(*corev1.ConfigMap).Annotations["sent"], 10, 64)
					mu.Lock()
					lat = append(lat, got.Sub(time.Unix(0, sent)))
					mu.Unlock()
					received.Done()
				}
			}(wi)
		}
		for w := 0; w < watchers; w++ {
			<-ready
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			received.Add(watchers)
			patch := fmt.Sprintf(`{"metadata":{"annotations":{"sent":"%d"}}}`, time.Now().UnixNano())
			next, err := cms.Patch(ctx, "fanout", types.MergePatchType, []byte(patch), metav1.PatchOptions{})
			if err != nil {
				b.Fatal(err)
			}
			cm = next
			received.Wait()
		}
		b.StopTimer()
		stop()
		all.Wait()
		reportLatencies(b, lat)
	})
}

func intOrString(port int) intstr.IntOrString { return intstr.FromInt32(int32(port)) }
