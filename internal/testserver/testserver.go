// Package testserver starts a whole navarch API server for tests: an
// embedded etcd store and the API server on 127.0.0.1 with a free port and
// its own PKI, in t.TempDir(). Tests of the API server and of every
// component that is an API client (controllers, scheduler, kubelet,
// reconciler) start from it and talk to it with client-go, as they would
// to Kubernetes.
//
// Start returns once the server answers /readyz; everything stops in
// t.Cleanup.
//
//	srv := testserver.Start(t)
//	cs := srv.ClientSet()
//	cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
package testserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/navarch/navarch/apiserver"
	"github.com/navarch/navarch/apiserver/auth"
	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

// TokensFile is the tokens file of a test server, under its data dir.
const TokensFile = "tokens.csv"

// startTimeout bounds the start of the store and the server.
const startTimeout = 30 * time.Second

// Option changes how Start starts the server.
type Option func(*config)

type config struct {
	logger     *slog.Logger
	storeOpts  func(*store.Options)
	serverOpts func(*apiserver.Options)
}

// WithLogger sends the server's and the store's logs to l (they are
// discarded by default).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithStoreOptions lets f change the store's options (etcdtest.Options).
func WithStoreOptions(f func(*store.Options)) Option { return func(c *config) { c.storeOpts = f } }

// WithServerOptions lets f change the API server's options.
func WithServerOptions(f func(*apiserver.Options)) Option {
	return func(c *config) { c.serverOpts = f }
}

// Server is a running test server.
type Server struct {
	t       testing.TB
	cfg     config
	dataDir string

	mu      sync.Mutex
	store   *store.Store
	api     *apiserver.Server
	port    int
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// Start starts etcd and the API server and stops them when the test ends.
// It fails the test when either cannot start.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, dataDir: t.TempDir()}
	s.cfg.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, o := range opts {
		o(&s.cfg)
	}
	if err := s.start(); err != nil {
		t.Fatalf("start test server: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop test server: %v", err)
		}
	})
	return s
}

func (s *Server) start() error {
	sopts := etcdtest.Options(s.t)
	sopts.DataDir = s.dataDir
	sopts.Logger = s.cfg.logger
	metrics, err := apiserver.NewMetrics(nil)
	if err != nil {
		return err
	}
	sopts.Metrics = metrics
	if s.cfg.storeOpts != nil {
		s.cfg.storeOpts(&sopts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	st, err := store.New(ctx, sopts)
	if err != nil {
		return fmt.Errorf("start store: %w", err)
	}
	aopts := apiserver.Options{
		DataDir: s.dataDir, Port: s.port, Store: st, Logger: s.cfg.logger, Metrics: metrics,
		TokensFile: filepath.Join(s.dataDir, TokensFile),
		// Clients' HTTP/2 connections would hold a graceful shutdown for a
		// second: a test server closes them at once.
		ShutdownTimeout: -1,
	}
	if s.cfg.serverOpts != nil {
		s.cfg.serverOpts(&aopts)
	}
	api, err := apiserver.New(aopts)
	if err != nil {
		st.Close()
		return err
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.Run(runCtx) }()
	if err := waitReady(ctx, api, done); err != nil {
		stop()
		<-done
		st.Close()
		return err
	}
	u, _ := url.Parse(api.URL())
	port, _ := strconv.Atoi(u.Port())

	s.mu.Lock()
	s.store, s.api, s.port, s.cancel, s.done, s.stopped = st, api, port, stop, done, false
	s.mu.Unlock()
	return nil
}

// waitReady polls /readyz until it answers 200.
func waitReady(ctx context.Context, api *apiserver.Server, done <-chan error) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(api.CAPEM())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	for {
		select {
		case err := <-done:
			return fmt.Errorf("api server stopped at start: %w", err)
		default:
		}
		resp, err := client.Get(api.URL() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("api server not ready: %w (last: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop stops the API server and the store. It is idempotent; Start's
// cleanup calls it.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.api == nil {
		return nil
	}
	s.stopped = true
	s.cancel()
	err := <-s.done
	if cerr := s.store.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// Restart stops the API server and the store and starts both again on the
// same data dir and port, as a process restart would. Clients made before
// keep working (same URL, CA and tokens).
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.Stop(); err != nil {
		s.t.Fatalf("restart: stop: %v", err)
	}
	var err error
	for i := 0; i < 50; i++ {
		if err = s.start(); err == nil {
			return
		}
		var opErr *net.OpError
		if !errors.As(err, &opErr) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the port is not free yet
	}
	s.t.Fatalf("restart: start: %v", err)
}

// URL returns the server's base URL.
func (s *Server) URL() string { return s.API().URL() }

// API returns the running API server.
func (s *Server) API() *apiserver.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.api
}

// Store returns the running store (for compaction, or to look at etcd).
func (s *Server) Store() *store.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store
}

// DataDir returns the server's data dir (PKI, tokens, etcd).
func (s *Server) DataDir() string { return s.dataDir }

// AdminToken returns the admin's bearer token.
func (s *Server) AdminToken() string { return s.API().AdminToken() }

// RESTConfig returns a client configuration for the admin.
func (s *Server) RESTConfig() *rest.Config { return s.ConfigFor(s.AdminToken()) }

// ConfigFor returns a client configuration that authenticates with token.
// Rate limits are high: tests measure the server, not client throttling.
func (s *Server) ConfigFor(token string) *rest.Config {
	api := s.API()
	return &rest.Config{
		Host:            api.URL(),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: api.CAPEM()},
		QPS:             1000,
		Burst:           2000,
		UserAgent:       "navarch-test",
	}
}

// ClientSet returns a typed client for the admin. It fails the test when
// the configuration is unusable.
func (s *Server) ClientSet() kubernetes.Interface {
	return s.ClientSetFor(s.AdminToken())
}

// ClientSetFor returns a typed client that authenticates with token.
func (s *Server) ClientSetFor(token string) kubernetes.Interface {
	s.t.Helper()
	cs, err := kubernetes.NewForConfig(s.ConfigFor(token))
	if err != nil {
		s.t.Fatalf("clientset: %v", err)
	}
	return cs
}

// AddToken adds a token for user in groups to the server's tokens file and
// returns it; it works at once.
func (s *Server) AddToken(user string, groups ...string) string {
	s.t.Helper()
	tok, err := auth.NewToken()
	if err != nil {
		s.t.Fatalf("new token: %v", err)
	}
	if err := auth.AppendToken(filepath.Join(s.dataDir, TokensFile), auth.TokenEntry{
		Token: tok, User: auth.User{Name: user, UID: user, Groups: groups},
	}); err != nil {
		s.t.Fatalf("add token: %v", err)
	}
	return tok
}

// NodeToken adds a token for the node identity of node and returns it.
func (s *Server) NodeToken(node string) string {
	s.t.Helper()
	tok, err := auth.NewNodeToken(filepath.Join(s.dataDir, TokensFile), node)
	if err != nil {
		s.t.Fatalf("node token: %v", err)
	}
	return tok
}

// WriteKubeconfig writes the admin kubeconfig into the data dir and returns
// its path.
func (s *Server) WriteKubeconfig() string {
	s.t.Helper()
	path := filepath.Join(s.dataDir, apiserver.KubeconfigFile)
	if err := s.API().WriteKubeconfig(path); err != nil {
		s.t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}
