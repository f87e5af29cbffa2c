package reconciler

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the reconciler's Prometheus metrics.
type Metrics struct {
	commitToReady *prometheus.HistogramVec
	syncs         *prometheus.CounterVec
	syncDuration  *prometheus.HistogramVec
}

// NewMetrics creates the metrics, unregistered.
func NewMetrics() *Metrics {
	return &Metrics{
		commitToReady: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "navarch_source_commit_to_ready_seconds",
			Help:    "Time from a revision's commit to every workload it applied being available, by Source.",
			Buckets: []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600},
		}, []string{"source"}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "navarch_source_syncs_total",
			Help: "Syncs of Source revisions, by Source and result (applied, unchanged, invalid, failed).",
		}, []string{"source", "result"}),
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "navarch_source_sync_duration_seconds",
			Help:    "Time from a fetched revision to its objects committed (parse, validate, plan, apply), by Source.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10},
		}, []string{"source"}),
	}
}

// Register registers the metrics on reg; it fails when reg holds metrics
// of the same names.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.commitToReady, m.syncs, m.syncDuration} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
