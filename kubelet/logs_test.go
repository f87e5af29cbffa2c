package kubelet_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/kubelet"
)

// TestRealLogsTailFollowLimitAndPrevious reads container logs through the
// API server's pods/log, which the kubelet serves.
func TestRealLogsTailFollowLimitAndPrevious(t *testing.T) {
	srv := testserver.Start(t)
	if err := srv.API().EnablePodLogs(); err != nil {
		t.Fatal(err)
	}
	cs := srv.ClientSet()
	ctx := context.Background()
	startRealNode(t, srv, "logs1")
	mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, testPod("ticker", "logs1", []string{"tick", "50ms"}), metav1.CreateOptions{}))
	mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, testPod("crasher", "logs1", []string{"crash-after", "300ms", "4"}), metav1.CreateOptions{}))
	waitPod(t, cs, "default", "ticker", time.Minute, "Running", running)
	time.Sleep(time.Second)
	read := func(name string, opts *corev1.PodLogOptions) string {
		t.Helper()
		b, err := cs.CoreV1().Pods("default").GetLogs(name, opts).DoRaw(ctx)
		if err != nil {
			t.Fatalf("logs of %s %+v: %v", name, opts, err)
		}
		return string(b)
	}

	t.Run("tailLines gives the last lines", func(t *testing.T) {
		out := read("ticker", &corev1.PodLogOptions{TailLines: ptr(int64(3))})
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "tick ") {
			t.Fatalf("got %q, want 3 tick lines", out)
		}
		a, _ := strconv.Atoi(strings.TrimPrefix(lines[0], "tick "))
		c, _ := strconv.Atoi(strings.TrimPrefix(lines[2], "tick "))
		if c != a+2 || a < 5 {
			t.Errorf("got lines %q, want three consecutive late ticks", lines)
		}
	})
	t.Run("limitBytes stops early", func(t *testing.T) {
		full := read("ticker", &corev1.PodLogOptions{})
		if out := read("ticker", &corev1.PodLogOptions{LimitBytes: ptr(int64(10))}); len(out) != 10 || !strings.HasPrefix(full, out) {
			t.Errorf("got %q, want the first 10 bytes of %.40q", out, full)
		}
	})
	t.Run("follow streams new lines", func(t *testing.T) {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		rc, err := cs.CoreV1().Pods("default").GetLogs("ticker", &corev1.PodLogOptions{Follow: true, TailLines: ptr(int64(1))}).Stream(fctx)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		sc := bufio.NewScanner(rc)
		var got []int
		for len(got) < 10 && sc.Scan() {
			n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "tick "))
			if err != nil {
				t.Fatalf("line %q", sc.Text())
			}
			got = append(got, n)
		}
		if len(got) < 10 || got[9] != got[0]+9 {
			t.Errorf("followed lines: got %v, want 10 consecutive ticks", got)
		}
	})
	t.Run("previous reads the instance before the current one", func(t *testing.T) {
		waitPod(t, cs, "default", "crasher", time.Minute, "restarted", func(p *corev1.Pod) bool {
			return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount >= 1
		})
		if out := read("crasher", &corev1.PodLogOptions{Previous: true}); !strings.Contains(out, "crashing with 4") {
			t.Errorf("previous: got %q, want the crash message", out)
		}
		_, err := cs.CoreV1().Pods("default").GetLogs("ticker", &corev1.PodLogOptions{Previous: true}).Stream(ctx)
		if err == nil || err.Error() != `previous terminated container "c0" in pod "ticker" not found` {
			t.Errorf("previous of a pod never restarted: got %v, want Kubernetes' not found message", err)
		}
	})
}

// TestKubeletAPIAcceptsOnlyMastersSignedByItsCA checks the kubelet API's
// authentication: no certificate is 401, a certificate of another group
// is 403, one in system:masters signed by the client CA is served.
func TestKubeletAPIAcceptsOnlyMastersSignedByItsCA(t *testing.T) {
	srv := testserver.Start(t)
	caCert, caKey := newCA(t)
	k, _ := memNode(t, srv, "api1", func(o *kubelet.Options) {
		o.Port, o.Address, o.ClientCA = kubelet.AnyPort, "127.0.0.1", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw})
	})
	url := "https://127.0.0.1:" + strconv.Itoa(k.Port()) + "/healthz"
	tests := []struct {
		name string
		cert *tls.Certificate
		want int
	}{
		{"no certificate", nil, http.StatusUnauthorized},
		{"another group", issue(t, caCert, caKey, "someone", "developers"), http.StatusForbidden},
		{"system:masters", issue(t, caCert, caKey, "apiserver", "system:masters"), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{InsecureSkipVerify: true}
			if tt.cert != nil {
				cfg.Certificates = []tls.Certificate{*tt.cert}
			}
			c := http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 5 * time.Second}
			resp, err := c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("got %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn, group string) *tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn, Organization: []string{group}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestRealLogsAreRotatedAndStillRead caps a chatty container's log at a
// few KiB: at most LogMaxFiles files remain, and a read still gives the
// newest lines in order.
func TestRealLogsAreRotatedAndStillRead(t *testing.T) {
	srv := testserver.Start(t)
	if err := srv.API().EnablePodLogs(); err != nil {
		t.Fatal(err)
	}
	cs := srv.ClientSet()
	ctx := context.Background()
	n := startRealNode(t, srv, "logs2", func(o *kubelet.Options) {
		o.LogMaxSize, o.LogMaxFiles, o.LogRotateInterval = 4096, 3, 100*time.Millisecond
	})
	mustCreate(t)(cs.CoreV1().Pods("default").Create(ctx, testPod("chatty", "logs2", []string{"tick", "2ms"}), metav1.CreateOptions{}))
	p := waitPod(t, cs, "default", "chatty", time.Minute, "Running", running)
	time.Sleep(3 * time.Second)
	dir := filepath.Join(n.dataDir, "logs", "default_chatty_"+string(p.UID), "c0")
	files, _ := filepath.Glob(filepath.Join(dir, "0.log*"))
	if len(files) < 2 || len(files) > 3 {
		t.Fatalf("log files: got %v, want the live one and 1 or 2 rotated ones", files)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() > 64<<10 {
			t.Errorf("%s: got %v bytes (%v), want it capped", f, st.Size(), err)
		}
	}
	b, err := cs.CoreV1().Pods("default").GetLogs("chatty", &corev1.PodLogOptions{TailLines: ptr(int64(50))}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("got %d lines, want 50", len(lines))
	}
	prev := -1
	for _, l := range lines {
		n, err := strconv.Atoi(strings.TrimPrefix(l, "tick "))
		if err != nil || (prev >= 0 && n <= prev) {
			t.Fatalf("lines out of order or torn: %q after %d", l, prev)
		}
		prev = n
	}
	if prev < 300 {
		t.Errorf("newest tick %d, want the latest lines (hundreds of ticks)", prev)
	}
}
