package apiserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/navarch/navarch/store"
)

// Metrics holds the API server's Prometheus metrics, registered on a
// registry of its own. It also receives the store's etcd latencies: pass it
// as store.Options.Metrics.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	etcd     *prometheus.HistogramVec
	etcdErrs *prometheus.CounterVec
	watchers *prometheus.GaugeVec
}

var _ store.MetricsSink = (*Metrics)(nil)

// NewMetrics creates the metrics and registers them, with the Go runtime
// and process collectors, on reg; a nil reg gets a new registry. It fails
// only when reg already holds metrics of the same names.
func NewMetrics(reg *prometheus.Registry) (*Metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of API requests, by verb, resource and HTTP response code.",
		}, []string{"verb", "resource", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency of API requests (watches excluded), by verb and resource.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1, 2.5, 5, 10, 30, 60},
		}, []string{"verb", "resource"}),
		etcd: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "etcd_request_duration_seconds",
			Help:    "Latency of etcd operations, by operation and resource.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1, 2.5, 5},
		}, []string{"operation", "type"}),
		etcdErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "etcd_request_errors_total",
			Help: "Counter of failed etcd operations, by operation and resource.",
		}, []string{"operation", "type"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers",
			Help: "Number of open watches, by resource.",
		}, []string{"resource"}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, m.etcd, m.etcdErrs, m.watchers,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveEtcd records the latency of one etcd operation; it implements
// store.MetricsSink.
func (m *Metrics) ObserveEtcd(op, resource string, d time.Duration, err error) {
	m.etcd.WithLabelValues(op, resource).Observe(d.Seconds())
	if err != nil {
		m.etcdErrs.WithLabelValues(op, resource).Inc()
	}
}

// Registry returns the registry the metrics live on.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

func (m *Metrics) observeRequest(verb, resource string, code int, d time.Duration) {
	m.requests.WithLabelValues(verb, resource, strconv.Itoa(code)).Inc()
	if verb != "watch" {
		m.duration.WithLabelValues(verb, resource).Observe(d.Seconds())
	}
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
