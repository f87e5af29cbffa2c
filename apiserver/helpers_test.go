package apiserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/yaml"

	"github.com/navarch/navarch/internal/testserver"
)

// ctxT returns a context that ends with the test, and within 60 s.
func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newPod returns a minimal valid pod.
func newPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
	}
}

// httpClient is a raw HTTPS client for a test server.
type httpClient struct {
	t      testing.TB
	srv    *testserver.Server
	token  string
	client *http.Client
}

func rawClient(t testing.TB, srv *testserver.Server, token string) *httpClient {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.API().CAPEM())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &httpClient{t: t, srv: srv, token: token, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// response is an answer of the raw client.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// status decodes the body as a Status.
func (r response) status(t testing.TB) metav1.Status {
	t.Helper()
	var s metav1.Status
	if err := yaml.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("decode Status from %q: %v", r.body, err)
	}
	return s
}

// do sends a request; headers come in pairs (name, value).
func (c *httpClient) do(method, path string, body []byte, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.srv.URL()+path, rd)
	if err != nil {
		c.t.Fatalf("new request: %v", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: data}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return data
}
