package apiserver

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
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/apiserver/auth"
)

// kubeletClientName is the identity the API server presents to kubelets.
const kubeletClientName = "navarch:apiserver-kubelet-client"

// EnablePodLogs serves GET /api/v1/namespaces/{namespace}/pods/{name}/log
// (kubectl logs) by proxying it to the kubelet API of the pod's node
// (https://<node InternalIP>:<daemonEndpoints.kubeletEndpoint.Port>/containerLogs/…)
// with the parameters container, follow, previous, tailLines and
// limitBytes, streaming the answer. The API server authenticates to the
// kubelet with a client certificate in group system:masters that it
// issues itself from the cluster CA; like Kubernetes without
// --kubelet-certificate-authority it does not verify the kubelet's
// self-signed serving certificate. It fails when its client certificate
// cannot be issued.
func (s *Server) EnablePodLogs() error {
	client, err := s.kubeletClient()
	if err != nil {
		return err
	}
	s.HandleAuthenticated("GET /api/v1/namespaces/{namespace}/pods/{name}/log", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.servePodLog(w, r, client)
	}))
	return nil
}

// kubeletClient is an HTTPS client presenting a certificate the cluster CA
// signs for kubeletClientName in group system:masters.
func (s *Server) kubeletClient() (*http.Client, error) {
	cert, err := s.pki.IssueClientCertificate(kubeletClientName, auth.MastersGroup)
	if err != nil {
		return nil, fmt.Errorf("kubelet client: %w", err)
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12},
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
	}}, nil
}

// subresourcePod reads the pod of a
// /api/v1/namespaces/{namespace}/pods/{name}/<subresource> request and the
// container its query names (or its only one). It answers the error
// itself and returns false when either is missing.
func (s *Server) subresourcePod(w http.ResponseWriter, r *http.Request) (*corev1.Pod, string, bool) {
	// The server routes with ServeMux.Handler, which sets no path values.
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 7 {
		writeError(w, r, errNotFoundPath())
		return nil, "", false
	}
	ns, name := parts[3], parts[5]
	res, _ := api.ResourceFor(&corev1.Pod{})
	pod := &corev1.Pod{}
	if err := s.store.Get(r.Context(), res.StorageKey(ns, name), pod); err != nil {
		writeError(w, r, storeError(err, corev1.Resource("pods"), name))
		return nil, "", false
	}
	container, err := logContainer(pod, r.URL.Query().Get("container"))
	if err != nil {
		writeError(w, r, err)
		return nil, "", false
	}
	return pod, container, true
}

func (s *Server) servePodLog(w http.ResponseWriter, r *http.Request, client *http.Client) {
	pod, container, ok := s.subresourcePod(w, r)
	if !ok {
		return
	}
	ns, name := pod.Namespace, pod.Name
	q := r.URL.Query()
	out := url.Values{}
	for _, p := range []string{"follow", "previous", "timestamps"} {
		if v := q.Get(p); v != "" {
			if _, err := strconv.ParseBool(v); err != nil {
				writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("%s: invalid boolean %q", p, v)))
				return
			}
			out.Set(p, v)
		}
	}
	for _, p := range []string{"tailLines", "limitBytes", "sinceSeconds"} {
		if v := q.Get(p); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 || (p != "tailLines" && n == 0) {
				writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("%s: must be a %s integer, got %q", p, map[bool]string{true: "non-negative", false: "positive"}[p == "tailLines"], v)))
				return
			}
			out.Set(p, v)
		}
	}
	base, err := s.kubeletURL(r.Context(), pod)
	if err != nil {
		writeError(w, r, err)
		return
	}
	u := base + "/containerLogs/" + url.PathEscape(ns) + "/" + url.PathEscape(name) + "/" + url.PathEscape(container) + "?" + out.Encode()
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u, nil)
	if err != nil {
		writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("cannot reach the kubelet of node %q: %v", pod.Spec.NodeName, err)))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		msg := strings.TrimSpace(string(body))
		if resp.StatusCode >= 500 {
			writeError(w, r, apierrors.NewInternalError(errors.New(msg)))
		} else {
			writeError(w, r, apierrors.NewBadRequest(msg))
		}
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// logContainer picks the container a log request is for: the one named, or
// the pod's only container.
func logContainer(pod *corev1.Pod, name string) (string, error) {
	var names []string
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			names = append(names, c.Name)
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name)
	}
	if name == "" {
		if len(pod.Spec.Containers) == 1 && len(pod.Spec.InitContainers) == 0 {
			return pod.Spec.Containers[0].Name, nil
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(names, " ")))
	}
	for _, n := range names {
		if n == name {
			return name, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
}

// kubeletURL is the base URL of the kubelet API of the pod's node.
func (s *Server) kubeletURL(ctx context.Context, pod *corev1.Pod) (string, error) {
	if pod.Spec.NodeName == "" {
		return "", apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	res, _ := api.ResourceFor(&corev1.Node{})
	node := &corev1.Node{}
	if err := s.store.Get(ctx, res.StorageKey("", pod.Spec.NodeName), node); err != nil {
		return "", storeError(err, corev1.Resource("nodes"), pod.Spec.NodeName)
	}
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port <= 0 {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("node %q reports no kubelet endpoint", node.Name))
	}
	addr := ""
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && addr == "" {
				addr = a.Address
			}
		}
	}
	if addr == "" {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("node %q reports no address", node.Name))
	}
	return "https://" + net.JoinHostPort(addr, strconv.Itoa(int(port))), nil
}
