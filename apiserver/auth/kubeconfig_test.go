package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestAWrittenKubeconfigReachesAnHTTPSServerAsItsUser starts a real HTTPS
// server on the PKI's serving certificate, guarded by the Authenticator and
// Authorize, and talks to it with client-go configured from the written
// kubeconfig.
func TestAWrittenKubeconfigReachesAnHTTPSServerAsItsUser(t *testing.T) {
	dir := t.TempDir()
	p, err := EnsurePKI(filepath.Join(dir, "pki"), nil)
	if err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}
	token, err := EnsureAdminToken(filepath.Join(dir, "admin-token"))
	if err != nil {
		t.Fatalf("EnsureAdminToken: %v", err)
	}
	authn, err := NewAuthenticator(AuthenticatorOptions{AdminToken: token})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := authn.AuthenticateRequest(r)
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}`))
			return
		}
		if ok, _ := Authorize(user, Attributes{Verb: "get", Path: r.URL.Path}); !ok {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"major":"1","minor":"37","gitVersion":"v1.37.2-navarch"}`))
	}))
	srv.TLS = p.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)

	path := filepath.Join(dir, "kubeconfig")
	if err := WriteKubeconfig(path, srv.URL, p.CAPEM, AdminUser, token); err != nil {
		t.Fatalf("WriteKubeconfig: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("got %v, %v; want a kubeconfig with mode 0600", fi.Mode(), err)
	}
	raw, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("load kubeconfig: %v", err)
	}
	if raw.CurrentContext != "navarch" || raw.Contexts["navarch"] == nil || raw.Clusters["navarch"] == nil {
		t.Errorf("got current context %q and contexts %v, want navarch", raw.CurrentContext, raw.Contexts)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("build client config: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("GET /version with the kubeconfig: %v", err)
	}
	if v.GitVersion != "v1.37.2-navarch" {
		t.Errorf("got version %q, want v1.37.2-navarch", v.GitVersion)
	}

	cfg.BearerToken = "wrong"
	bad, _ := kubernetes.NewForConfig(cfg)
	_, err = bad.CoreV1().RESTClient().Get().AbsPath("/version").DoRaw(context.Background())
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("got %v with a wrong token, want 401 Unauthorized", err)
	}
}
