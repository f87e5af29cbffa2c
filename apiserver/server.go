package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/apiserver/alloc"
	"github.com/navarch/navarch/apiserver/auth"
	"github.com/navarch/navarch/store"
)

// File names under Options.DataDir.
const (
	// PKIDir holds the CA and the serving certificate.
	PKIDir = "pki"
	// AdminTokenFile holds the admin's bearer token.
	AdminTokenFile = "admin.token"
	// KubeconfigFile is where cmd writes the admin kubeconfig.
	KubeconfigFile = "kubeconfig"
)

// Server is navarch's Kubernetes-compatible API server. Create it with New,
// serve with Run.
type Server struct {
	opts      Options
	store     *store.Store
	log       *slog.Logger
	metrics   *Metrics
	pki       *auth.PKI
	authn     *auth.Authenticator
	token     string
	listener  net.Listener
	url       string
	decoders  *decoders
	protobuf  runtime.Encoder
	fields    *fieldManagers
	discovery *discovery
	alloc     *alloc.Allocator
	// reservations keep the Services admitted together by Admit apart.
	reservations *alloc.Reservations
	now          func() time.Time

	// public serves unauthenticated paths added with Handle; private
	// authenticated ones added with HandleAuthenticated.
	public, private *http.ServeMux
	openapi         *openAPIHandler

	runOnce      sync.Once
	stopping     chan struct{} // closed at shutdown: ends watches
	shuttingDown atomic.Bool
}

// New prepares a server: it creates or loads the PKI and the admin token
// under opts.DataDir, reads the tokens file and binds the listening socket
// (so URL is known, also for port 0). It fails on invalid options, an
// unreadable PKI or tokens file, or a port in use.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("apiserver options: %w", err)
	}
	s := &Server{
		opts: opts, store: opts.Store, log: opts.Logger, metrics: opts.Metrics, now: opts.Now,
		public: http.NewServeMux(), private: http.NewServeMux(), stopping: make(chan struct{}),
		openapi: &openAPIHandler{},
	}
	if s.metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	hosts := append([]string{}, opts.ExtraSANs...)
	if ip := net.ParseIP(opts.BindAddress); ip != nil && !ip.IsUnspecified() {
		hosts = append(hosts, opts.BindAddress)
	}
	pki, err := auth.EnsurePKI(filepath.Join(opts.DataDir, PKIDir), hosts)
	if err != nil {
		return nil, err
	}
	s.pki = pki
	if s.token, err = auth.EnsureAdminToken(filepath.Join(opts.DataDir, AdminTokenFile)); err != nil {
		return nil, err
	}
	if s.authn, err = auth.NewAuthenticator(auth.AuthenticatorOptions{
		AdminToken: s.token, TokenFile: opts.TokensFile, Logger: opts.Logger,
	}); err != nil {
		return nil, err
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(api.AddToScheme(scheme))
	utilruntime.Must(autoscalingv1.AddToScheme(scheme))
	utilruntime.Must(metav1.AddMetaToScheme(scheme))
	scheme.AddKnownTypes(metav1.SchemeGroupVersion, &metav1.DeleteOptions{}, &metav1.CreateOptions{},
		&metav1.UpdateOptions{}, &metav1.PatchOptions{}, &metav1.ListOptions{}, &metav1.GetOptions{})
	if s.alloc, err = alloc.New(opts.Store, alloc.Options{ServiceCIDR: opts.ServiceCIDR, NodePortRange: opts.NodePortRange}); err != nil {
		return nil, err
	}
	s.reservations = alloc.NewReservations(0, opts.Now)
	s.decoders = newDecoders(scheme)
	s.protobuf = protobuf.NewSerializer(scheme, scheme)
	s.fields = newFieldManagers(scheme)

	ln, err := net.Listen("tcp", net.JoinHostPort(opts.BindAddress, strconv.Itoa(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.listener = ln
	host := opts.BindAddress
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	port := ln.Addr().(*net.TCPAddr).Port
	s.url = "https://" + net.JoinHostPort(host, strconv.Itoa(port))
	s.discovery = newDiscovery(net.JoinHostPort(host, strconv.Itoa(port)))
	return s, nil
}

// URL returns the server's base URL, https://<address>:<port>.
func (s *Server) URL() string { return s.url }

// AdminToken returns the admin's bearer token.
func (s *Server) AdminToken() string { return s.token }

// CAPEM returns the CA certificate clients trust, PEM-encoded.
func (s *Server) CAPEM() []byte { return s.pki.CAPEM }

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// WriteKubeconfig writes a kubeconfig for the admin (mode 0600) at path.
func (s *Server) WriteKubeconfig(path string) error {
	return auth.WriteKubeconfig(path, s.url, s.pki.CAPEM, auth.AdminUser, s.token)
}

// Handle mounts an unauthenticated handler (the GitOps webhook receiver
// under /webhooks/, which checks its own signatures) at a ServeMux pattern.
func (s *Server) Handle(pattern string, h http.Handler) { s.public.Handle(pattern, h) }

// HandleAuthenticated mounts a handler for authenticated and authorized
// requests (pod logs) at a ServeMux pattern; it is consulted before the
// REST handlers. UserFrom gives the handler the request's user.
func (s *Server) HandleAuthenticated(pattern string, h http.Handler) {
	s.private.Handle(pattern, h)
}

// Handler returns the server's HTTP handler (for tests that serve it
// themselves).
func (s *Server) Handler() http.Handler { return s }

// Run creates the system namespaces that are missing, then serves HTTPS on
// the bound socket until ctx ends; then it stops accepting requests, ends
// the watches, and waits up to Options.ShutdownTimeout for requests under
// way before closing their connections. It returns nil after a shutdown.
// Run may be called once; it closes the socket New bound.
func (s *Server) Run(ctx context.Context) error {
	err := errors.New("apiserver: Run called twice")
	s.runOnce.Do(func() { err = s.run(ctx) })
	return err
}

func (s *Server) run(ctx context.Context) error {
	defer s.listener.Close()
	if err := s.ensureNamespaces(ctx); err != nil {
		return err
	}
	s.repairAllocations(ctx)
	go s.repairLoop(ctx)
	srv := &http.Server{
		Handler:           s,
		TLSConfig:         s.pki.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: 1000},
	}
	errCh := make(chan error, 1)
	go func() { errCh <- srv.ServeTLS(s.listener, "", "") }()
	s.log.Info("API server listening", "url", s.url)
	select {
	case err := <-errCh:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.shuttingDown.Store(true)
	close(s.stopping)
	var err error
	if s.opts.ShutdownTimeout < 0 {
		err = srv.Close()
	} else {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
		err = srv.Shutdown(shutdownCtx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("requests still under way at shutdown; closing their connections", "timeout", s.opts.ShutdownTimeout)
			err = srv.Close()
		}
	}
	if serveErr := <-errCh; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	s.log.Info("API server stopped")
	return nil
}
