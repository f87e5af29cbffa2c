package store_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/watch"

	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

// externalEtcd is an etcd server binary started by a test.
type externalEtcd struct {
	endpoint                  string
	caFile, certFile, keyFile string // a client certificate the server trusts
}

// startExternalEtcd runs the etcd binary on loopback ports with TLS and
// client certificate authentication, and stops it when the test ends.
func startExternalEtcd(t *testing.T) externalEtcd {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("etcd binary not found: %v", err)
		}
		t.Skipf("etcd binary not found (Debian package etcd-server): %v", err)
	}
	dir := t.TempDir()
	pki := writePKI(t, dir)
	clientPort, peerPort := freePort(t), freePort(t)
	client := fmt.Sprintf("https://127.0.0.1:%d", clientPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	cmd := exec.Command(bin,
		"--name", "ext",
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "ext="+peer,
		"--cert-file", pki.serverCert, "--key-file", pki.serverKey,
		"--trusted-ca-file", pki.ca, "--client-cert-auth",
		"--logger", "zap", "--log-level", "error",
	)
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("etcd output:\n%s", logs.String())
		}
	})
	return externalEtcd{endpoint: client, caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey}
}

func TestAStoreOnAnExternalClusterWithTLSServesEveryVerb(t *testing.T) {
	ext := startExternalEtcd(t)
	opts := etcdtest.Options(t)
	opts.DataDir = ""
	opts.Endpoints = []string{ext.endpoint}
	opts.CAFile, opts.CertFile, opts.KeyFile = ext.caFile, ext.certFile, ext.keyFile
	opts.StartTimeout = 30 * time.Second
	s := etcdtest.StartWith(t, opts)
	ctx := ctxT(t)

	w, err := s.Watch(ctx, pods.StorageKey("", ""), store.WatchOptions{Recursive: true, AllowBookmarks: true}, newPod)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	p := mustCreate(t, s, pod("default", "a", "", nil))
	p.Spec.NodeName = "n1"
	if err := s.Update(ctx, podKey("default", "a"), p); err != nil {
		t.Fatalf("update: %v", err)
	}
	res, err := s.List(ctx, pods.StorageKey("", ""), store.ListOptions{Limit: 1}, newPod)
	if err != nil || len(res.Items) != 1 {
		t.Fatalf("list: %v", err)
	}
	if err := s.Delete(ctx, podKey("default", "a"), nil, rvOf(t, p)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	var got []string
	for _, want := range []watch.EventType{watch.Added, watch.Modified, watch.Deleted} {
		ev := next(t, w)
		got = append(got, string(ev.Type))
		if ev.Type != want {
			t.Fatalf("got events %v, want ADDED MODIFIED DELETED", got)
		}
	}
	// Bookmarks work against the etcd 3.4 binary too.
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Bookmark {
				return
			}
		case <-timeout:
			t.Fatal("no bookmark in 10s")
		}
	}
}

func TestAStoreWithoutTheClientCertificateIsRefused(t *testing.T) {
	ext := startExternalEtcd(t)
	opts := etcdtest.Options(t)
	opts.DataDir = ""
	opts.Endpoints = []string{ext.endpoint}
	opts.CAFile, opts.CertFile, opts.KeyFile = ext.caFile, ext.certFile, ext.keyFile
	opts.StartTimeout = 30 * time.Second
	etcdtest.StartWith(t, opts) // the server is up and answers with the certificate

	opts.CertFile, opts.KeyFile = "", ""
	opts.StartTimeout = 2 * time.Second
	s, err := store.New(context.Background(), opts)
	if err == nil {
		s.Close()
		t.Fatal("got a store without a client certificate, want an error")
	}
}

type pkiFiles struct{ ca, serverCert, serverKey, clientCert, clientKey string }

// writePKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate into dir.
func writePKI(t *testing.T, dir string) pkiFiles {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	f := pkiFiles{ca: filepath.Join(dir, "ca.crt")}
	writePEM(t, f.ca, "CERTIFICATE", caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		cert, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		writePEM(t, cert, "CERTIFICATE", der)
		writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
		return cert, keyFile
	}
	f.serverCert, f.serverKey = issue("server", 2, x509.ExtKeyUsageServerAuth)
	f.clientCert, f.clientKey = issue("client", 3, x509.ExtKeyUsageClientAuth)
	return f
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
