package git

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// Credentials authenticate to a remote. For https:// and http:// URLs,
// Username and Password (or Password alone, a token) are sent as HTTP basic
// auth. For ssh:// and git@host:path URLs, SSHPrivateKey (PEM or OpenSSH
// format; Password, if set, decrypts it) authenticates the client and
// KnownHosts (known_hosts format) verifies the server: an SSH key without
// KnownHosts is refused rather than trusting any host. file:// URLs need
// nothing. The zero value means anonymous.
type Credentials struct {
	Username      string
	Password      string
	SSHPrivateKey []byte
	KnownHosts    []byte
}

// Keys of a Secret's data that CredentialsFromSecretData reads.
const (
	SecretUsername   = "username"
	SecretPassword   = "password"
	SecretIdentity   = "identity"
	SecretKnownHosts = "known_hosts"
)

// CredentialsFromSecretData builds Credentials from a Secret's data: keys
// username and password for HTTPS, identity (a private key) and known_hosts
// for SSH. Other keys are ignored.
func CredentialsFromSecretData(data map[string][]byte) Credentials {
	return Credentials{
		Username:      string(data[SecretUsername]),
		Password:      string(data[SecretPassword]),
		SSHPrivateKey: data[SecretIdentity],
		KnownHosts:    data[SecretKnownHosts],
	}
}

// IsZero reports whether c holds no credentials at all.
func (c Credentials) IsZero() bool {
	return c.Username == "" && c.Password == "" && len(c.SSHPrivateKey) == 0 && len(c.KnownHosts) == 0
}

// String describes c without revealing any secret.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{username: %q, password: %s, identity: %s, known_hosts: %d bytes}",
		c.Username, set(c.Password != ""), set(len(c.SSHPrivateKey) > 0), len(c.KnownHosts))
}

// GoString is String, so that %#v does not print the secrets either.
func (c Credentials) GoString() string { return c.String() }

func set(b bool) string {
	if b {
		return "set"
	}
	return "unset"
}

// secrets lists the values that must never appear in an error message.
func (c Credentials) secrets() []string {
	return []string{c.Password}
}

// authMethod turns c into go-git's auth for ep. timeout bounds the SSH
// dial, which go-git does not tie to the context.
func (c Credentials) authMethod(ep *transport.Endpoint, scratch string, timeout time.Duration) (transport.AuthMethod, error) {
	switch ep.Protocol {
	case "http", "https":
		if c.Username == "" && c.Password == "" {
			return nil, nil
		}
		user := c.Username
		if user == "" {
			user = "git" // a token alone: hosts ignore the user name
		}
		return &githttp.BasicAuth{Username: user, Password: c.Password}, nil
	case "ssh":
		return c.sshAuth(ep, scratch, timeout)
	default:
		return nil, nil
	}
}

func (c Credentials) sshAuth(ep *transport.Endpoint, scratch string, timeout time.Duration) (transport.AuthMethod, error) {
	url := ep.String()
	if len(c.SSHPrivateKey) == 0 {
		return nil, fmt.Errorf("%w: %s needs an SSH private key (secret key %q)", ErrAuth, url, SecretIdentity)
	}
	if len(c.KnownHosts) == 0 {
		return nil, fmt.Errorf("%w: %s needs the server's host key (secret key %q)", ErrAuth, url, SecretKnownHosts)
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	keys, err := gitssh.NewPublicKeys(user, c.SSHPrivateKey, c.Password)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: parse SSH private key: %v", ErrAuth, url, err)
	}
	db, err := knownHostsDB(c.KnownHosts, scratch)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: parse known_hosts: %v", ErrAuth, url, err)
	}
	port := ep.Port
	if port <= 0 {
		port = 22
	}
	keys.HostKeyCallback = db.HostKeyCallback()
	keys.HostKeyAlgorithms = db.HostKeyAlgorithms(net.JoinHostPort(ep.Host, strconv.Itoa(port)))
	return &timedSSHAuth{AuthMethod: keys, timeout: timeout}, nil
}

// knownHostsDB parses known_hosts content. The parser reads files only, so
// the content goes through a private temporary file that is removed at once.
func knownHostsDB(content []byte, scratch string) (interface {
	HostKeyCallback() ssh.HostKeyCallback
	HostKeyAlgorithms(string) []string
}, error) {
	f, err := os.CreateTemp(scratch, "known_hosts-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(content); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return gitssh.NewKnownHostsDb(f.Name())
}

// timedSSHAuth sets a dial timeout on the SSH client configuration.
type timedSSHAuth struct {
	gitssh.AuthMethod
	timeout time.Duration
}

func (a *timedSSHAuth) ClientConfig() (*ssh.ClientConfig, error) {
	cfg, err := a.AuthMethod.ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = a.timeout
	return cfg, nil
}
