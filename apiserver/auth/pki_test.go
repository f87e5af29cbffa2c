package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEnsurePKICreatesACAAndAServingCertificateWithPrivateKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	p, err := EnsurePKI(dir, []string{"navarch.example", "10.0.0.5"})
	if err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}
	for file, mode := range map[string]os.FileMode{CACertFile: 0o644, CAKeyFile: 0o600, ServerCertFile: 0o644, ServerKeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, file))
		if err != nil {
			t.Fatalf("stat %s: %v", file, err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: got mode %v, want %v", file, fi.Mode().Perm(), mode)
		}
	}
	if !p.CA.IsCA || p.CA.NotAfter.Before(time.Now().Add(9*365*24*time.Hour)) {
		t.Errorf("got CA IsCA=%v until %v, want a CA valid for about ten years", p.CA.IsCA, p.CA.NotAfter)
	}
	if _, ok := p.CA.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("got CA key %T, want ECDSA", p.CA.PublicKey)
	}
	leaf := p.ServerCert.Leaf
	for _, h := range []string{"127.0.0.1", "::1", "localhost", "navarch.example", "10.0.0.5"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("serving certificate does not cover %s: %v", h, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.CertPool()}); err != nil {
		t.Errorf("serving certificate does not verify against the CA: %v", err)
	}
}

func TestEnsurePKIReusesWhatItCreated(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsurePKI(dir, []string{"a.example"})
	if err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}
	second, err := EnsurePKI(dir, []string{"a.example"})
	if err != nil {
		t.Fatalf("EnsurePKI again: %v", err)
	}
	if !bytes.Equal(first.CAPEM, second.CAPEM) {
		t.Error("got a new CA on the second start, want the same")
	}
	if !bytes.Equal(first.ServerCert.Certificate[0], second.ServerCert.Certificate[0]) {
		t.Error("got a new serving certificate on the second start, want the same")
	}
}

func TestEnsurePKIReissuesOnlyTheServingCertificateForANewHost(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsurePKI(dir, nil)
	if err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}
	second, err := EnsurePKI(dir, []string{"192.168.7.7"})
	if err != nil {
		t.Fatalf("EnsurePKI with a new host: %v", err)
	}
	if !bytes.Equal(first.CAPEM, second.CAPEM) {
		t.Error("got a new CA, want the same")
	}
	if bytes.Equal(first.ServerCert.Certificate[0], second.ServerCert.Certificate[0]) {
		t.Error("got the same serving certificate, want a new one covering 192.168.7.7")
	}
	if err := second.ServerCert.Leaf.VerifyHostname("192.168.7.7"); err != nil {
		t.Errorf("new serving certificate: %v", err)
	}
}

func TestEnsurePKIReissuesAServingCertificateAboutToExpire(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsurePKI(dir, nil)
	if err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}
	// Replace the serving certificate with one signed by the same CA that
	// expires in ten days.
	caPair, err := tls.LoadX509KeyPair(filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	srvKey := first.ServerCert.PrivateKey.(*ecdsa.PrivateKey)
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: "short"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caPair.Leaf, &srvKey.PublicKey, caPair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeCert(filepath.Join(dir, ServerCertFile), der); err != nil {
		t.Fatal(err)
	}
	second, err := EnsurePKI(dir, nil)
	if err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}
	if got := second.ServerCert.Leaf.NotAfter; got.Before(time.Now().Add(300 * 24 * time.Hour)) {
		t.Errorf("got a serving certificate valid until %v, want a reissued one valid for about a year", got)
	}
}

func TestEnsurePKIRefusesToReplaceAnUnreadableCA(t *testing.T) {
	dir := t.TempDir()
	if _, err := EnsurePKI(dir, nil); err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, CAKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsurePKI(dir, nil); err == nil {
		t.Fatal("got no error for a corrupt CA key, want one")
	}
}

func TestTheServingCertificateWorksOverRealTLS(t *testing.T) {
	p, err := EnsurePKI(t.TempDir(), nil)
	if err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	srv.TLS = p.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.CertPool()}}}
	t.Cleanup(client.CloseIdleConnections)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		resp, err := client.Get("https://" + net.JoinHostPort(host, port) + "/")
		if err != nil {
			t.Errorf("GET via %s: %v", host, err)
			continue
		}
		resp.Body.Close()
	}

	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.CertPool(), MaxVersion: tls.VersionTLS11}}}
	t.Cleanup(old.CloseIdleConnections)
	if resp, err := old.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Error("a TLS 1.1 client connected, want it refused")
	}
}

func TestAClientCertificateIsSignedByTheCAForItsNameAndGroupsAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	p, err := EnsurePKI(dir, nil)
	if err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}
	before, _ := os.ReadDir(dir)
	cert, err := p.IssueClientCertificate("navarch:client", MastersGroup)
	if err != nil {
		t.Fatalf("IssueClientCertificate: %v", err)
	}
	leaf := cert.Leaf
	if leaf.Subject.CommonName != "navarch:client" || len(leaf.Subject.Organization) != 1 || leaf.Subject.Organization[0] != MastersGroup {
		t.Errorf("got subject %v, want CN navarch:client in O %s", leaf.Subject, MastersGroup)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify against the CA for client auth: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("client certificate verifies for server auth, want client auth only")
	}
	if key, ok := cert.PrivateKey.(*ecdsa.PrivateKey); !ok || !key.PublicKey.Equal(leaf.PublicKey) {
		t.Errorf("got private key %T not matching the certificate, want its ECDSA key", cert.PrivateKey)
	}
	if after, _ := os.ReadDir(dir); len(after) != len(before) {
		t.Errorf("got %d files in the PKI dir, want %d as before", len(after), len(before))
	}
}
