package kubelet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type probeKind int

const (
	liveness probeKind = iota
	readiness
	startup
)

func (p probeKind) String() string {
	return [...]string{"Liveness", "Readiness", "Startup"}[p]
}

type probeKey struct {
	uid       types.UID
	container string
	kind      probeKind
}

// probeManager runs one worker per probe of each running container and
// keeps their verdicts: whether a container is ready, whether it has
// started, and whether it must be killed (liveness or startup failed).
// A change of verdict wakes the pod's worker.
type probeManager struct {
	k *Kubelet

	mu      sync.Mutex
	workers map[probeKey]*probeWorker
	ready   map[string]bool   // container id → readiness verdict
	started map[string]bool   // container id → startup verdict
	kill    map[string]string // container id → why it must be killed
	grace   map[string]time.Duration
}

func newProbeManager(k *Kubelet) *probeManager {
	return &probeManager{k: k, workers: map[probeKey]*probeWorker{}, ready: map[string]bool{},
		started: map[string]bool{}, kill: map[string]string{}, grace: map[string]time.Duration{}}
}

// isReady is the readiness verdict: true for a container without a
// readiness probe.
func (m *probeManager) isReady(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.ready[id]
	return !ok || v
}

// isStarted is the startup verdict: true for a container without a
// startup probe.
func (m *probeManager) isStarted(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.started[id]
	return !ok || v
}

// shouldKill reports whether a failed liveness or startup probe asks to
// kill the container, with the grace period the probe sets (-1: the
// pod's) and why.
func (m *probeManager) shouldKill(id string) (bool, time.Duration, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	why, ok := m.kill[id]
	if !ok {
		return false, 0, ""
	}
	g, ok := m.grace[id]
	if !ok {
		g = -1
	}
	return true, g, why
}

// sync starts workers for the probes of pod's running app containers and
// stops those of containers that are gone or replaced. A readiness
// verdict starts false, unless the pod's status already reports that very
// container ready (a restarted kubelet adopting it).
func (m *probeManager) sync(pod *corev1.Pod, state *podState) {
	sb := state.sandbox()
	want := map[probeKey]string{}
	if sb != nil {
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			latest := state.latest(c.Name, sb.ID)
			if latest == nil || latest.State != ContainerRunning {
				continue
			}
			for kind, p := range map[probeKind]*corev1.Probe{liveness: c.LivenessProbe, readiness: c.ReadinessProbe, startup: c.StartupProbe} {
				if p != nil {
					want[probeKey{pod.UID, c.Name, kind}] = latest.ID
				}
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, w := range m.workers {
		if key.uid == pod.UID && want[key] != w.id {
			m.stopLocked(key, w)
		}
	}
	for key, id := range want {
		if _, ok := m.workers[key]; ok {
			continue
		}
		c := findContainer(pod, key.container)
		latest := state.latest(key.container, sb.ID)
		w := &probeWorker{m: m, key: key, id: id, pod: pod, container: c, podIP: sb.IP,
			startedAt: latest.StartedAt, stop: make(chan struct{})}
		switch key.kind {
		case liveness:
			w.probe = c.LivenessProbe
		case readiness:
			w.probe = c.ReadinessProbe
			m.ready[id] = reportedReady(pod, c.Name, id)
		case startup:
			w.probe = c.StartupProbe
			if _, ok := m.started[id]; !ok {
				m.started[id] = false
			}
		}
		m.workers[key] = w
		go w.run()
	}
}

// reportedReady tells whether pod's status reports container id ready.
func reportedReady(pod *corev1.Pod, name, id string) bool {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == name && strings.HasSuffix(cs.ContainerID, "://"+id) {
			return cs.Ready
		}
	}
	return false
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// forget stops the pod's workers and drops their verdicts.
func (m *probeManager) forget(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, w := range m.workers {
		if key.uid == uid {
			m.stopLocked(key, w)
		}
	}
}

// stopAll stops every worker.
func (m *probeManager) stopAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, w := range m.workers {
		m.stopLocked(key, w)
	}
}

func (m *probeManager) stopLocked(key probeKey, w *probeWorker) {
	close(w.stop)
	delete(m.workers, key)
	switch key.kind {
	case readiness:
		delete(m.ready, w.id)
	case startup:
		delete(m.started, w.id)
	}
	delete(m.kill, w.id)
	delete(m.grace, w.id)
}

// probeWorker probes one container periodically with Kubernetes'
// semantics: the first probe after initialDelaySeconds from the
// container's start, then every periodSeconds; a verdict flips after
// successThreshold successes or failureThreshold failures in a row;
// liveness and readiness wait for the startup probe to succeed.
type probeWorker struct {
	m         *probeManager
	key       probeKey
	id        string
	pod       *corev1.Pod
	container *corev1.Container
	probe     *corev1.Probe
	podIP     string
	startedAt time.Time
	stop      chan struct{}

	successes, failures int
}

func (w *probeWorker) run() {
	p := w.probe
	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	first := time.Until(w.startedAt.Add(time.Duration(p.InitialDelaySeconds) * time.Second))
	timer := time.NewTimer(max(first, 0))
	defer timer.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-timer.C:
		}
		if !w.step() {
			return
		}
		timer.Reset(period)
	}
}

// step runs the probe once and records the verdict; it returns false when
// the worker has nothing more to do (startup succeeded, or the container
// is to be killed).
func (w *probeWorker) step() bool {
	m := w.m
	if w.key.kind != startup && !m.isStarted(w.id) {
		return true
	}
	p := w.probe
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second)
	defer cancel()
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := w.m.k.runProbe(ctx, w, timeout)
	select {
	case <-w.stop:
		return false
	default:
	}
	if err == nil {
		w.successes, w.failures = w.successes+1, 0
	} else {
		w.successes, w.failures = 0, w.failures+1
		w.m.k.log.Debug("probe failed", "pod", podKey(w.pod), "container", w.key.container, "probe", w.key.kind, "err", err)
	}
	success := w.successes >= int(max(p.SuccessThreshold, 1))
	failure := w.failures >= int(max(p.FailureThreshold, 1))
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.workers[w.key]; !ok {
		return false
	}
	changed, more := false, true
	switch w.key.kind {
	case readiness:
		if (success || failure) && m.ready[w.id] != success {
			m.ready[w.id], changed = success, true
		}
	case startup:
		switch {
		case success:
			m.started[w.id], changed, more = true, true, false
		case failure:
			m.markKill(w, fmt.Sprintf("Startup probe failed: %v", err))
			changed, more = true, false
		}
	case liveness:
		if failure {
			m.markKill(w, fmt.Sprintf("Liveness probe failed: %v", err))
			changed, more = true, false
		}
	}
	if changed {
		m.k.workers.poke(w.key.uid)
	}
	return more
}

// markKill records that w's container must be killed; the caller holds
// m.mu.
func (m *probeManager) markKill(w *probeWorker, why string) {
	m.kill[w.id] = why
	if g := w.probe.TerminationGracePeriodSeconds; g != nil {
		m.grace[w.id] = time.Duration(*g) * time.Second
	}
}

// runProbe runs one probe of w's container; nil is success.
func (k *Kubelet) runProbe(ctx context.Context, w *probeWorker, timeout time.Duration) error {
	h := w.probe.ProbeHandler
	switch {
	case h.Exec != nil:
		res, err := k.runtime().ExecSync(ctx, w.id, h.Exec.Command, timeout)
		if err != nil {
			return err
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("command %q exited with %d: %s", h.Exec.Command, res.ExitCode, strings.TrimSpace(string(res.Output)))
		}
		return nil
	case h.HTTPGet != nil:
		return probeHTTP(ctx, h.HTTPGet, w.container, w.podIP, timeout)
	case h.TCPSocket != nil:
		port, err := resolvePort(h.TCPSocket.Port, w.container)
		if err != nil {
			return err
		}
		host := h.TCPSocket.Host
		if host == "" {
			host = w.podIP
		}
		d := net.Dialer{Timeout: timeout}
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return err
		}
		return conn.Close()
	case h.GRPC != nil:
		return probeGRPC(ctx, h.GRPC, w.podIP, timeout)
	}
	return errors.New("probe has no handler")
}

// probeHTTP GETs the probe's URL; a status from 200 to 399 is success.
// Redirects are not followed (a redirect counts as success).
func probeHTTP(ctx context.Context, g *corev1.HTTPGetAction, c *corev1.Container, podIP string, timeout time.Duration) error {
	port, err := resolvePort(g.Port, c)
	if err != nil {
		return err
	}
	host := g.Host
	if host == "" {
		host = podIP
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	if p, q, ok := strings.Cut(path, "?"); ok {
		u.Path, u.RawQuery = p, q
	} else {
		u.Path = path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "kube-probe/"+strings.TrimPrefix(Version, "v"))
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			Proxy:             nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 10<<10))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP probe failed with statuscode: %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// probeGRPC asks the gRPC health service; SERVING is success.
func probeGRPC(ctx context.Context, g *corev1.GRPCAction, podIP string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := grpc.NewClient(net.JoinHostPort(podIP, strconv.Itoa(int(g.Port))),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	svc := ""
	if g.Service != nil {
		svc = *g.Service
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		return err
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("service unhealthy (responded with %q)", resp.Status)
	}
	return nil
}

// resolvePort turns a port number or a container port's name into a
// number.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	if p.Type == intstr.Int {
		if p.IntVal <= 0 || p.IntVal > 65535 {
			return 0, fmt.Errorf("invalid port %d", p.IntVal)
		}
		return int(p.IntVal), nil
	}
	if c != nil {
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return int(cp.ContainerPort), nil
			}
		}
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return n, nil
	}
	return 0, fmt.Errorf("no port named %q in container", p.StrVal)
}
