package apiserver

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// EnablePodExec serves /api/v1/namespaces/{namespace}/pods/{name}/exec
// (kubectl exec) by proxying the request, a WebSocket upgrade with the
// remote command subprotocol, to the kubelet API of the pod's node
// (/exec/{namespace}/{pod}/{container}), as EnablePodLogs does for logs.
// Only system:masters may exec (the view group may not). It fails when
// its kubelet client certificate cannot be issued.
func (s *Server) EnablePodExec() error {
	client, err := s.kubeletClient()
	if err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.servePodExec(w, r, client.Transport) })
	s.HandleAuthenticated("GET /api/v1/namespaces/{namespace}/pods/{name}/exec", h)
	s.HandleAuthenticated("POST /api/v1/namespaces/{namespace}/pods/{name}/exec", h)
	return nil
}

func (s *Server) servePodExec(w http.ResponseWriter, r *http.Request, transport http.RoundTripper) {
	pod, container, ok := s.subresourcePod(w, r)
	if !ok {
		return
	}
	ns, name := pod.Namespace, pod.Name
	q := r.URL.Query()
	if len(q["command"]) == 0 {
		writeError(w, r, apierrors.NewBadRequest("you must specify at least one command for the container"))
		return
	}
	if p := pod.Status.Phase; p == corev1.PodSucceeded || p == corev1.PodFailed {
		writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("cannot exec into a container in a completed pod; current phase is %s", p)))
		return
	}
	base, err := s.kubeletURL(r.Context(), pod)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q.Del("container")
	target, err := url.Parse(base + "/exec/" + url.PathEscape(ns) + "/" + url.PathEscape(name) + "/" + url.PathEscape(container) + "?" + q.Encode())
	if err != nil {
		writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL, pr.Out.Host = target, target.Host
			pr.Out.Header.Del("Authorization") // the kubelet knows the API server by its certificate
		},
		Transport:     transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("cannot reach the kubelet of node %q: %v", pod.Spec.NodeName, err)))
		},
	}
	proxy.ServeHTTP(w, r)
}
