package proxy

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// The scale of the benchmarks: 1,000 Services of 10 endpoints each.
const benchServices, benchEndpoints = 1000, 10

// changeOne returns eslices with slice i replaced by a copy whose first
// endpoint has a new address (generation n), as an informer delivers an
// update.
func changeOne(eslices []*discoveryv1.EndpointSlice, i, n int) []*discoveryv1.EndpointSlice {
	out := slices.Clone(eslices)
	es := eslices[i].DeepCopy()
	es.Endpoints[0].Addresses = []string{fmt.Sprintf("10.245.%d.%d", (n/250)%250, n%250+1)}
	out[i] = es
	return out
}

// reportPercentiles reports the 50th and 99th percentile of d in ms.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	p := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

func BenchmarkRender(b *testing.B) {
	services, eslices := scale(benchServices, benchEndpoints)
	b.Run("full-1000x10", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			NewRenderer(testConfig).Render(services, eslices)
		}
	})
	gen := 0
	b.Run("one-endpointslice-changed-1000x10", func(b *testing.B) {
		r := NewRenderer(testConfig)
		old := r.Render(services, eslices)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			gen++
			eslices = changeOne(eslices, gen%benchServices, gen)
			rs := r.Render(services, eslices)
			if d, ok := diff(old, rs); !ok || d.empty() {
				b.Fatal("want an incremental, non-empty delta")
			}
			old = rs
		}
	})
}

// BenchmarkSync writes 1,000 Services into a real nftables table: a full
// sync into no table (a node's first start), a full resync adopting a
// table of the same content (a restart, or a sync after a failure), one
// replacing it whole (when adopting fails), the sync after one
// EndpointSlice change (render, diff and nft transaction), and the
// periodic check of the table.
func BenchmarkSync(b *testing.B) {
	requireNFT(b)
	ctx := context.Background()
	services, eslices := scale(benchServices, benchEndpoints)
	table := testTable(b)
	cfg := testConfig
	cfg.TableName = table
	cfg.ServiceCIDR = netip.MustParsePrefix(benchServiceCIDR)
	ap, err := NewApplier(table)
	if err != nil {
		b.Fatal(err)
	}
	r := NewRenderer(cfg)
	gen := 0

	b.Run("full-sync-into-no-table-1000x10", func(b *testing.B) {
		var took []time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if err := Cleanup(ctx, table); err != nil {
				b.Fatal(err)
			}
			ap.Reset()
			b.StartTimer()
			start := time.Now()
			if res, err := ap.Apply(ctx, r.Render(services, eslices)); err != nil || !res.Full {
				b.Fatalf("got %+v, %v, want a full apply", res, err)
			}
			took = append(took, time.Since(start))
		}
		reportPercentiles(b, took)
	})
	b.Run("full-resync-adopting-1000x10", func(b *testing.B) {
		var took []time.Duration
		for i := 0; i < b.N; i++ {
			ap.Reset()
			start := time.Now()
			if res, err := ap.Apply(ctx, r.Render(services, eslices)); err != nil || !res.Full || res.Replaced {
				b.Fatalf("got %+v, %v, want the table adopted", res, err)
			}
			took = append(took, time.Since(start))
		}
		reportPercentiles(b, took)
	})
	b.Run("full-resync-replacing-1000x10", func(b *testing.B) {
		var took []time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			tx := ap.nft.NewTransaction()
			fullTransaction(tx, r.Render(services, eslices))
			if err := ap.nft.Run(ctx, tx); err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(start))
		}
		reportPercentiles(b, took)
		ap.Reset()
	})
	b.Run("endpointslice-change-1000x10", func(b *testing.B) {
		if _, err := ap.Apply(ctx, r.Render(services, eslices)); err != nil {
			b.Fatal(err)
		}
		var took []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			gen++
			eslices = changeOne(eslices, gen%benchServices, gen)
			start := time.Now()
			res, err := ap.Apply(ctx, r.Render(services, eslices))
			if err != nil || res.Full {
				b.Fatalf("got %+v, %v, want an incremental apply", res, err)
			}
			took = append(took, time.Since(start))
		}
		reportPercentiles(b, took)
	})
	b.Run("verify-1000x10", func(b *testing.B) {
		if _, err := ap.Apply(ctx, r.Render(services, eslices)); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if ok, err := ap.Verify(ctx); err != nil || !ok {
				b.Fatalf("verify: %v, %v", ok, err)
			}
		}
	})
}
