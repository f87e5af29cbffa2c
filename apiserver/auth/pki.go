package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files EnsurePKI keeps in its directory.
const (
	CACertFile     = "ca.crt"
	CAKeyFile      = "ca.key"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
)

const (
	caValidity     = 10 * 365 * 24 * time.Hour
	serverValidity = 365 * 24 * time.Hour
	clientValidity = 365 * 24 * time.Hour
	// renewBefore is how close to its expiry a serving certificate is
	// reissued at start.
	renewBefore = 30 * 24 * time.Hour
)

// DefaultHosts are in every serving certificate.
var defaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// PKI is the server's CA and serving certificate.
type PKI struct {
	// Dir holds the four files.
	Dir string
	// CAPEM is the CA certificate, PEM-encoded, for kubeconfigs and clients.
	CAPEM []byte
	// CA is the parsed CA certificate.
	CA *x509.Certificate
	// ServerCert is the serving certificate (leaf first) and its key.
	ServerCert tls.Certificate

	caKey *ecdsa.PrivateKey
}

// EnsurePKI returns the CA and serving certificate kept in dir, creating dir
// (mode 0700), the CA and the serving certificate as needed. The serving
// certificate covers 127.0.0.1, ::1, localhost and hosts (IP addresses or DNS
// names); it is reissued by the existing CA when a host is missing from it,
// when it expires within 30 days, or when it was not signed by that CA. A
// CA that cannot be read is an error, never silently replaced, since every
// kubeconfig trusts it.
func EnsurePKI(dir string, hosts []string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki dir %s: %w", dir, err)
	}
	caCert, caKey, err := loadOrCreateCA(dir)
	if err != nil {
		return nil, err
	}
	want := append(slices.Clone(defaultHosts), hosts...)
	serving, err := loadServing(dir)
	if err != nil || !servingValid(serving.Leaf, caCert, want, time.Now()) {
		if serving, err = issueServing(dir, caCert, caKey, want); err != nil {
			return nil, err
		}
	}
	return &PKI{
		Dir:        dir,
		CAPEM:      pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}),
		CA:         caCert,
		ServerCert: serving,
		caKey:      caKey,
	}, nil
}

// IssueClientCertificate returns a new key and a certificate the CA signs
// for it, for client authentication as commonName in groups (the
// certificate's organizations), valid for a year. Nothing is written to
// the PKI's directory. It fails only when the key cannot be generated or
// signed.
func (p *PKI) IssueClientCertificate(commonName string, groups ...string) (tls.Certificate, error) {
	cert, err := issue(p.CA, p.caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: groups},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, clientValidity)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("client certificate for %s: %w", commonName, err)
	}
	return cert, nil
}

// TLSConfig returns a server configuration presenting the serving
// certificate, TLS 1.2 or newer. Each call returns a new value.
func (p *PKI) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{p.ServerCert},
	}
}

// CertPool returns a pool holding the CA, for clients of the server.
func (p *PKI) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return pool
}

func loadOrCreateCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	switch {
	case err == nil:
		key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
		if !ok {
			return nil, nil, fmt.Errorf("ca key %s: not an ECDSA key", keyPath)
		}
		return pair.Leaf, key, nil
	case errors.Is(err, fs.ErrNotExist) && !exists(certPath) && !exists(keyPath):
	default:
		return nil, nil, fmt.Errorf("load ca from %s: %w", dir, err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ca key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("navarch-ca@%d", now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse ca certificate: %w", err)
	}
	// The key is written first: a certificate without its key is never left
	// behind.
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writeCert(certPath, der); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func loadServing(dir string) (tls.Certificate, error) {
	return tls.LoadX509KeyPair(filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile))
}

// servingValid reports whether leaf was signed by ca, covers every host and
// stays valid for longer than renewBefore.
func servingValid(leaf, ca *x509.Certificate, hosts []string, now time.Time) bool {
	if leaf == nil || leaf.CheckSignatureFrom(ca) != nil {
		return false
	}
	if now.Before(leaf.NotBefore) || now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func issueServing(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "navarch-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	cert, err := issue(ca, caKey, tmpl, serverValidity)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serving certificate: %w", err)
	}
	if err := writeKey(filepath.Join(dir, ServerKeyFile), cert.PrivateKey.(*ecdsa.PrivateKey)); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeCert(filepath.Join(dir, ServerCertFile), cert.Certificate[0]); err != nil {
		return tls.Certificate{}, err
	}
	return cert, nil
}

// issue generates a key and a certificate for it that ca signs: tmpl with
// a serial number and validity from an hour ago until validity from now.
// The result carries the parsed leaf.
func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate, validity time.Duration) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate key: %w", err)
	}
	now := time.Now()
	tmpl.SerialNumber = serial()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(validity)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key %s: %w", path, err)
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func writeCert(path string, der []byte) error {
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("read random serial: %v", err))
	}
	return n
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
