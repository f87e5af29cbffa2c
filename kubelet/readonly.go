package kubelet

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// readOnlyHandler serves the read-only port (plain HTTP, no
// authentication, on 127.0.0.1 by default):
//
//	/healthz  "ok" once the kubelet runs
//	/spec     the machine (MachineInfo as JSON)
//	/pods     a PodList of this node's pods with the status the kubelet computed
//	/metrics  Prometheus metrics
func (k *Kubelet) readOnlyHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /spec", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, k.machine)
	})
	mux.HandleFunc("GET /spec/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, k.machine)
	})
	mux.HandleFunc("GET /pods", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, k.podList())
	})
	mux.HandleFunc("GET /pods/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, k.podList())
	})
	if k.metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(k.metrics.registry, promhttp.HandlerOpts{}))
	}
	return mux
}

// podList is the node's pods as a v1 PodList, sorted by namespace/name.
func (k *Kubelet) podList() *corev1.PodList {
	pods := k.Pods()
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, Items: make([]corev1.Pod, 0, len(pods))}
	for _, p := range pods {
		p := p.DeepCopy()
		p.TypeMeta = metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}
		list.Items = append(list.Items, *p)
	}
	slices.SortFunc(list.Items, func(a, b corev1.Pod) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return list
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.Encode(v)
}

// Metrics are the kubelet's Prometheus metrics, served on the read-only
// port's /metrics.
type Metrics struct {
	registry          *prometheus.Registry
	syncDuration      prometheus.Histogram
	relistDuration    prometheus.Histogram
	podStartDuration  prometheus.Histogram
	containersStarted prometheus.Counter
	statusWrites      prometheus.Counter
	nodeStatusWrites  prometheus.Counter
	runningPods       prometheus.Gauge
	runningContainers prometheus.Gauge
}

// NewMetrics registers the kubelet's metrics on a registry of their own
// (with the Go runtime and process collectors).
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kubelet_pod_worker_duration_seconds", Help: "Duration of one pod sync.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		relistDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kubelet_pleg_relist_duration_seconds", Help: "Duration of listing the runtime's containers.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		podStartDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kubelet_pod_start_duration_seconds", Help: "From the kubelet seeing a pod to all its containers running.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
		containersStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubelet_started_containers_total", Help: "Containers started.",
		}),
		statusWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubelet_pod_status_writes_total", Help: "Pod status writes to the API server.",
		}),
		nodeStatusWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubelet_node_status_writes_total", Help: "Node status writes to the API server.",
		}),
		runningPods: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubelet_running_pods", Help: "Pods with a running sandbox.",
		}),
		runningContainers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubelet_running_containers", Help: "Containers running.",
		}),
	}
	reg.MustRegister(m.syncDuration, m.relistDuration, m.podStartDuration, m.containersStarted,
		m.statusWrites, m.nodeStatusWrites, m.runningPods, m.runningContainers,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}
