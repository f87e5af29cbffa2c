package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/apiserver/auth"
)

type userKey struct{}

// UserFrom returns the authenticated user of a request's context.
func UserFrom(ctx context.Context) (auth.User, bool) {
	u, ok := ctx.Value(userKey{}).(auth.User)
	return u, ok
}

// ServeHTTP serves one request: health and mounted public paths without
// authentication; everything else after authentication (401) and
// authorization (403): resources, discovery, OpenAPI, /metrics and the
// mounted authenticated paths. Every request is counted and timed, and
// logged at debug level.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &responseWriter{ResponseWriter: w}
	info := parseRequestInfo(r)
	user := ""
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic serving request", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if !rw.wroteHeader {
				writeError(rw, r, apierrors.NewInternalError(fmt.Errorf("panic: %v", p)))
			}
		}
		code := rw.status()
		verb, resource := metricVerb(info, r), info.Resource
		if _, served := api.LookupResource(info.GroupVersionResource()); !served {
			resource = "" // keeps the label's values few whatever clients ask for
		}
		s.metrics.observeRequest(verb, resource, code, time.Since(start))
		s.log.Debug("request", "verb", verb, "path", r.URL.Path, "resource", resource, "namespace", info.Namespace,
			"name", info.Name, "code", code, "duration", time.Since(start), "user", user, "agent", r.UserAgent())
	}()

	switch r.URL.Path {
	case "/healthz", "/livez", "/readyz":
		s.serveHealth(rw, r)
		return
	case "/version":
		s.serveVersion(rw, r)
		return
	}
	if h, pattern := s.public.Handler(r); pattern != "" {
		h.ServeHTTP(rw, r)
		return
	}

	u, ok := s.authn.AuthenticateRequest(r)
	if !ok {
		writeError(rw, r, apierrors.NewUnauthorized("Unauthorized"))
		return
	}
	user = u.Name
	r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
	attrs := attributes(info)
	// A create names its object in the body: serveCreate authorizes it once
	// decoded.
	if !(info.IsResourceRequest && info.Verb == "create" && info.Name == "") {
		if allowed, reason := auth.Authorize(u, attrs); !allowed {
			s.log.Debug("forbidden", "user", u.Name, "verb", attrs.Verb, "resource", attrs.Resource, "reason", reason)
			writeError(rw, r, auth.ForbiddenError(u, attrs))
			return
		}
	}
	if h, pattern := s.private.Handler(r); pattern != "" {
		h.ServeHTTP(rw, r)
		return
	}
	switch {
	case info.IsResourceRequest:
		s.serveResource(rw, r, info)
	case r.URL.Path == "/metrics":
		s.metrics.handler().ServeHTTP(rw, r)
	case r.URL.Path == "/openapi/v3" || strings.HasPrefix(r.URL.Path, "/openapi/v3/"):
		s.openapi.ServeHTTP(rw, r)
	default:
		if !s.serveDiscovery(rw, r) {
			writeError(rw, r, errNotFoundPath())
		}
	}
}

// attributes describes a request for authorization.
func attributes(info *RequestInfo) auth.Attributes {
	if !info.IsResourceRequest {
		return auth.Attributes{Verb: info.Verb, Path: info.Path}
	}
	return auth.Attributes{
		Verb: info.Verb, APIGroup: info.APIGroup, Resource: info.Resource, Subresource: info.Subresource,
		Namespace: info.Namespace, Name: info.Name,
	}
}

// authorizeCreate authorizes a create once the object's name is known.
func (rr *resourceRequest) authorizeCreate(name string) error {
	u, ok := UserFrom(rr.ctx())
	if !ok {
		return nil // an in-process request (system namespaces)
	}
	attrs := attributes(rr.info)
	attrs.Name = name
	if allowed, _ := auth.Authorize(u, attrs); !allowed {
		return auth.ForbiddenError(u, attrs)
	}
	return nil
}

// checkStoredPod makes the check Authorize leaves to the core: a node may
// write the status of, or delete, only the pods bound to it.
func (rr *resourceRequest) checkStoredPod(cur any) error {
	u, ok := UserFrom(rr.ctx())
	if !ok {
		return nil
	}
	if _, isNode := auth.NodeName(u); !isNode {
		return nil
	}
	pod, _ := cur.(*corev1.Pod)
	return auth.CheckPodBinding(u, attributes(rr.info), pod)
}

// metricVerb is the verb label of a request, as Kubernetes spells it.
func metricVerb(info *RequestInfo, r *http.Request) string {
	if !info.IsResourceRequest {
		return r.Method
	}
	switch info.Verb {
	case "list":
		return "LIST"
	case "watch":
		return "WATCH"
	case "patch":
		if strings.HasPrefix(r.Header.Get("Content-Type"), mediaApplyPatchYAML) {
			return "APPLY"
		}
	}
	return r.Method
}

// responseWriter records the status code, for metrics and logs.
type responseWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets watches and handlers mounted on the server stream.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) status() int {
	if !w.wroteHeader {
		return http.StatusOK
	}
	return w.code
}
