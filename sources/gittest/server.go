package gittest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Server serves every bare repository under Root over smart HTTP.
type Server struct {
	// Root holds the bare repositories, <name>.git each.
	Root string
	// URL is the server's base URL, http://127.0.0.1:<port>.
	URL string

	t        testing.TB
	srv      *httptest.Server
	requests atomic.Int64

	mu            sync.Mutex
	user, pass    string
	beforePush    func()
	beforePushSet bool
}

// NewServer starts a Git HTTP server on loopback, stopped by t.Cleanup.
func NewServer(t testing.TB) *Server {
	t.Helper()
	backend := httpBackend(t)
	s := &Server{Root: t.TempDir(), t: t}
	cgiHandler := &cgi.Handler{
		Path: backend,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + s.Root,
		},
		InheritEnv: []string{"PATH"},
		Stderr:     io.Discard,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
			s.runBeforePush()
		}
		cgiHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

// RequireAuth makes every request need HTTP basic auth with user and pass.
func (s *Server) RequireAuth(user, pass string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass = user, pass
}

// BeforeNextPush runs fn once, on the next push, before the server reads
// it; tests use it to make a competing commit land first.
func (s *Server) BeforeNextPush(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforePush, s.beforePushSet = fn, true
}

// Requests counts the HTTP requests served so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

func (s *Server) authorized(r *http.Request) bool {
	s.mu.Lock()
	user, pass := s.user, s.pass
	s.mu.Unlock()
	if user == "" && pass == "" {
		return true
	}
	u, p, ok := r.BasicAuth()
	return ok && u == user && p == pass
}

func (s *Server) runBeforePush() {
	s.mu.Lock()
	fn, set := s.beforePush, s.beforePushSet
	s.beforePush, s.beforePushSet = nil, false
	s.mu.Unlock()
	if set && fn != nil {
		fn()
	}
}

// httpBackend finds git-http-backend, skipping the test when it is missing.
func httpBackend(t testing.TB) string {
	t.Helper()
	gitBin := RequireGit(t)
	out, err := exec.Command(gitBin, "--exec-path").Output()
	if err != nil {
		skipOrFail(t, "git --exec-path: %v", err)
	}
	p := filepath.Join(string(bytes.TrimSpace(out)), "git-http-backend")
	if _, err := os.Stat(p); err != nil {
		skipOrFail(t, "git-http-backend not found: %v", err)
	}
	return p
}

// RequireGit returns the path of the git binary, skipping the test when
// there is none (failing it when CI=true).
func RequireGit(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		skipOrFail(t, "git binary not found: %v", err)
	}
	return p
}

func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
