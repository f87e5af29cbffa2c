// Command hello is navarch's example application: a small HTTP server that
// says which version it is and which pod answered, so that a rollout and
// the load balancing of a Service can be seen with curl.
//
//	GET /          "<greeting>: pod <pod>, version <version>", and with
//	               UPSTREAM set, a second line with the upstream Service's
//	               answer
//	GET /version   the version
//	GET /healthz   "ok", for liveness and readiness probes
//
// Configuration, all optional:
//
//	-listen ADDR, LISTEN      address to serve on (":8080")
//	HELLO_VERSION             the version it reports (set in the image)
//	GREETING                  the first words of its answer ("hello")
//	POD_NAME                  the pod's name (downward API); else the hostname
//	UPSTREAM                  a Service name, e.g. "api": GET / then calls
//	                          http://$API_SERVICE_HOST:$API_SERVICE_PORT/,
//	                          the variables the kubelet sets for each Service
//
// SIGTERM stops it gracefully: it stops accepting connections and lets the
// requests in flight finish.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", envOr("LISTEN", ":8080"), "address to serve on")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("hello: ")

	// Handle SIGTERM before anything else: as a container's PID 1 a signal
	// without a handler is ignored.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	a := newApp()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("cannot start: %v", err)
	}
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("version %s serving on %s as %s", a.version, ln.Addr(), a.pod)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		log.Fatalf("serve: %v", err)
	case <-ctx.Done():
	}
	log.Printf("stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Printf("shutdown: %v", err)
	}
}

// app is what the handlers answer with.
type app struct {
	version  string
	greeting string
	pod      string
	upstream string // a Service name, or ""
	client   *http.Client
}

func newApp() *app {
	host, _ := os.Hostname()
	return &app{
		version:  envOr("HELLO_VERSION", "dev"),
		greeting: envOr("GREETING", "hello"),
		pod:      envOr("POD_NAME", host),
		upstream: os.Getenv("UPSTREAM"),
		client:   &http.Client{Timeout: 2 * time.Second},
	}
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.hello)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, a.version) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	return mux
}

func (a *app) hello(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "%s: pod %s, version %s\n", a.greeting, a.pod, a.version)
	if a.upstream == "" {
		return
	}
	answer, err := a.callUpstream(r.Context())
	if err != nil {
		fmt.Fprintf(w, "  %s: %v\n", a.upstream, err)
		return
	}
	fmt.Fprintf(w, "  %s: %s\n", a.upstream, answer)
}

// callUpstream GETs / of the upstream Service, found through the
// environment variables Kubernetes defines for each Service.
func (a *app) callUpstream(ctx context.Context) (string, error) {
	prefix := strings.ToUpper(strings.ReplaceAll(a.upstream, "-", "_"))
	host, port := os.Getenv(prefix+"_SERVICE_HOST"), os.Getenv(prefix+"_SERVICE_PORT")
	if host == "" || port == "" {
		return "", fmt.Errorf("no %s_SERVICE_HOST/_PORT in the environment", prefix)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]), nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
