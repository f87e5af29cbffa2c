package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// healthCheck is one line of a health answer.
type healthCheck struct {
	name string
	err  error
}

// serveHealth answers /healthz, /livez and /readyz. /livez says the
// process serves; /healthz and /readyz also ask the store, and fail with
// 503 while etcd does not answer; /readyz fails too once the server is
// shutting down. ?verbose lists the checks; why one failed is logged, not
// answered.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	checks := []healthCheck{{"ping", nil}}
	if r.URL.Path == "/readyz" || r.URL.Path == "/healthz" {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		err := s.store.Ready(ctx)
		cancel()
		checks = append(checks, healthCheck{"etcd", err})
	}
	if r.URL.Path == "/readyz" && s.shuttingDown.Load() {
		checks = append(checks, healthCheck{"shutdown", errors.New("the server is shutting down")})
	}
	failed := false
	body := ""
	for _, c := range checks {
		if c.err != nil {
			// The paths are open to anyone: the reason goes to the log
			// only, as Kubernetes does.
			failed = true
			body += fmt.Sprintf("[-]%s failed: reason withheld\n", c.name)
			s.log.Warn("health check failed", "path", r.URL.Path, "check", c.name, "err", c.err)
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
