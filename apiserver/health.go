package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// serveHealth answers /healthz, /livez and /readyz. The first two say the
// process serves; /readyz also asks the store, and fails with 503 until
// etcd answers. ?verbose lists the checks.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	checks := []struct {
		name string
		err  error
	}{{"ping", nil}}
	if r.URL.Path == "/readyz" || r.URL.Path == "/healthz" {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		err := s.store.Ready(ctx)
		cancel()
		checks = append(checks, struct {
			name string
			err  error
		}{"etcd", err})
	}
	if r.URL.Path == "/readyz" && s.shuttingDown.Load() {
		checks = append(checks, struct {
			name string
			err  error
		}{"shutdown", fmt.Errorf("the server is shutting down")})
	}
	failed := false
	body := ""
	for _, c := range checks {
		if c.err != nil {
			failed = true
			body += fmt.Sprintf("[-]%s failed: %v\n", c.name, c.err)
		} else {
			body += fmt.Sprintf("[+]%s ok\n", c.name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	code := http.StatusOK
	if failed {
		code = http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	switch {
	case failed:
		fmt.Fprintf(w, "%s%s check failed\n", body, r.URL.Path[1:])
	case r.URL.Query().Has("verbose"):
		fmt.Fprintf(w, "%s%s check passed\n", body, r.URL.Path[1:])
	default:
		fmt.Fprint(w, "ok")
	}
}
