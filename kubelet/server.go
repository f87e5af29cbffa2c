package kubelet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// MastersGroup is the certificate organization (group) a client of the
// kubelet API must have: the API server presents such a certificate,
// signed by the cluster CA, when it proxies pod logs.
const MastersGroup = "system:masters"

// servers are the kubelet's listening sockets, bound in New.
type servers struct {
	api, readOnly net.Listener
}

// listen binds the kubelet API and read-only sockets that are on.
func (k *Kubelet) listen() error {
	bind := func(addr string, port int) (net.Listener, error) {
		if port == AnyPort {
			port = 0
		}
		return net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	}
	var err error
	if k.opts.Port != 0 {
		if k.servers.api, err = bind(k.opts.Address, k.opts.Port); err != nil {
			return fmt.Errorf("kubelet API: %w", err)
		}
	}
	if k.opts.ReadOnlyPort != 0 {
		if k.servers.readOnly, err = bind(k.opts.ReadOnlyAddress, k.opts.ReadOnlyPort); err != nil {
			if k.servers.api != nil {
				k.servers.api.Close()
			}
			return fmt.Errorf("kubelet read-only port: %w", err)
		}
	}
	return nil
}

// Port is the kubelet API's port, 0 when it is off.
func (k *Kubelet) Port() int {
	if k.servers.api == nil {
		return 0
	}
	return k.servers.api.Addr().(*net.TCPAddr).Port
}

// ReadOnlyAddr is the read-only port's address (host:port), "" when off.
func (k *Kubelet) ReadOnlyAddr() string {
	if k.servers.readOnly == nil {
		return ""
	}
	return k.servers.readOnly.Addr().String()
}

// serve serves the kubelet API and the read-only port until ctx ends.
func (k *Kubelet) serve(ctx context.Context) {
	var srvs []*http.Server
	if l := k.servers.api; l != nil {
		tlsCfg, err := k.apiTLS()
		if err != nil {
			k.log.Error("kubelet API TLS", "err", err)
			l.Close()
		} else {
			srv := &http.Server{Handler: k.apiHandler(), TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
				ErrorLog: nil}
			srvs = append(srvs, srv)
			go func() {
				if err := srv.ServeTLS(l, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
					k.log.Error("kubelet API", "err", err)
				}
			}()
			k.log.Info("kubelet API listening", "address", l.Addr().String())
		}
	}
	if l := k.servers.readOnly; l != nil {
		srv := &http.Server{Handler: k.readOnlyHandler(), ReadHeaderTimeout: 10 * time.Second}
		srvs = append(srvs, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				k.log.Error("kubelet read-only port", "err", err)
			}
		}()
		k.log.Info("kubelet read-only port listening", "address", l.Addr().String())
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range srvs {
		s.Shutdown(sctx)
	}
}

// apiTLS serves a self-signed certificate (as Kubernetes' kubelet does by
// default) and asks for client certificates signed by ClientCA.
func (k *Kubelet) apiTLS() (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(k.opts.ClientCA) {
		return nil, errors.New("client CA holds no PEM certificate")
	}
	cert, err := selfSigned(k.opts.NodeName, k.opts.NodeIP, k.opts.Hostname)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool,
	}, nil
}

func selfSigned(node, ip, hostname string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: node + "@kubelet"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", node},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	if hostname != "" && hostname != node {
		tmpl.DNSNames = append(tmpl.DNSNames, hostname)
	}
	if p := net.ParseIP(ip); p != nil && !p.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, p)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// apiHandler serves the authenticated kubelet API: container logs and
// exec (as Kubernetes' kubelet, /containerLogs/<namespace>/<pod>/<container>
// and /exec/<namespace>/<pod>/<container>) and the read-only paths.
func (k *Kubelet) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", k.serveContainerLogs)
	mux.HandleFunc("GET /exec/{namespace}/{pod}/{container}", k.serveExec)
	mux.HandleFunc("POST /exec/{namespace}/{pod}/{container}", k.serveExec)
	ro := k.readOnlyHandler()
	mux.Handle("/", ro)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "Unauthorized: a client certificate signed by the cluster CA is required", http.StatusUnauthorized)
			return
		}
		leaf := r.TLS.VerifiedChains[0][0]
		if !slices.Contains(leaf.Subject.Organization, MastersGroup) {
			http.Error(w, fmt.Sprintf("Forbidden: user %q is not in group %s", leaf.Subject.CommonName, MastersGroup), http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (k *Kubelet) serveContainerLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := LogOptions{Follow: q.Get("follow") == "true", Previous: q.Get("previous") == "true"}
	for name, dst := range map[string]**int64{"tailLines": &opts.TailLines, "limitBytes": &opts.LimitBytes} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				http.Error(w, fmt.Sprintf("%s: want a non-negative integer, got %q", name, v), http.StatusBadRequest)
				return
			}
			*dst = &n
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	fw := &lazyHeaderWriter{w: w}
	err := k.ContainerLogs(r.Context(), r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container"), opts, fw)
	switch {
	case err == nil:
		if !fw.wrote {
			w.WriteHeader(http.StatusOK)
		}
	case fw.wrote:
		// Mid-stream: nothing more to say.
	case errors.Is(err, ErrLogNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
	default:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// lazyHeaderWriter lets an error before the first byte still choose the
// status code.
type lazyHeaderWriter struct {
	w     http.ResponseWriter
	wrote bool
}

func (l *lazyHeaderWriter) Write(p []byte) (int, error) {
	l.wrote = true
	return l.w.Write(p)
}

func (l *lazyHeaderWriter) Flush() {
	l.wrote = true
	http.NewResponseController(l.w).Flush()
}

var _ io.Writer = (*lazyHeaderWriter)(nil)
