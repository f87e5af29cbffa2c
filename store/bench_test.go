package store_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

// benchStore is an embedded store with fsync on, as in production.
func benchStore(b *testing.B) *store.Store {
	b.Helper()
	opts := etcdtest.Options(b)
	opts.UnsafeNoFsync = false
	return etcdtest.StartWith(b, opts)
}

// benchPod is a pod of a realistic size (about 1 KiB of JSON).
func benchPod(ns, name string, i int) *corev1.Pod {
	p := pod(ns, name, fmt.Sprint("node-", i%100), map[string]string{"app": "bench", "pod-template-hash": "5d9c7b8f6"})
	p.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
	p.Spec.Containers[0] = corev1.Container{
		Name: "app", Image: "registry.example/app:v1.2.3",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		Env:   []corev1.EnvVar{{Name: "MODE", Value: "production"}, {Name: "LOG_LEVEL", Value: "info"}},
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi"),
		}},
	}
	return p
}

func BenchmarkCreate(b *testing.B) {
	s := benchStore(b)
	ctx := ctxT(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("p%07d", i)
		if err := s.Create(ctx, podKey("bench", name), benchPod("bench", name, i)); err != nil {
			b.Fatal(err)
		}
	}
}

// fill creates n pods in namespace ns, 1,000 per transaction.
func fill(b *testing.B, s *store.Store, ns string, n int) {
	b.Helper()
	for start := 0; start < n; start += 1000 {
		var ops []store.Op
		for i := start; i < start+1000 && i < n; i++ {
			name := fmt.Sprintf("p%07d", i)
			ops = append(ops, store.Op{Type: store.OpCreate, Key: podKey(ns, name), Object: benchPod(ns, name, i)})
		}
		if _, err := s.Txn(ctxT(b), ops); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkList10000(b *testing.B) {
	s := benchStore(b)
	fill(b, s, "bench", 10000)
	ctx := ctxT(b)
	cases := []struct {
		name string
		opts store.ListOptions
		want int
	}{
		{"all", store.ListOptions{}, 10000},
		{"field-selector", store.ListOptions{Predicate: store.Predicate{Field: fields.OneTermEqualSelector("spec.nodeName", "node-7"), Attrs: podAttrs}}, 100},
		{"limit-500", store.ListOptions{Limit: 500}, 500},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				res, err := s.List(ctx, pods.StorageKey("bench", ""), c.opts, newPod)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Items) != c.want {
					b.Fatalf("got %d items, want %d", len(res.Items), c.want)
				}
			}
		})
	}
}

func BenchmarkTxn1000(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ns := fmt.Sprint("bench-", i)
		ops := make([]store.Op, 1000)
		for j := range ops {
			name := fmt.Sprintf("p%04d", j)
			ops[j] = store.Op{Type: store.OpCreate, Key: podKey(ns, name), Object: benchPod(ns, name, j)}
		}
		b.StartTimer()
		if _, err := s.Txn(ctxT(b), ops); err != nil {
			b.Fatal(err)
		}
	}
}
