package gittest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHServer serves the Server's repositories over SSH on loopback: an
// in-process SSH server (golang.org/x/crypto/ssh) that runs
// git-upload-pack and git-receive-pack for the one client key it trusts.
type SSHServer struct {
	// Addr is 127.0.0.1:<port>.
	Addr string
	// Port is the listening port.
	Port string
	// ClientKey is the PEM (OpenSSH format) private key the server
	// accepts.
	ClientKey []byte
	// KnownHosts is a known_hosts line for the server's host key.
	KnownHosts []byte

	root     string
	listener net.Listener
	wg       sync.WaitGroup
}

// NewKey returns a new ed25519 private key in OpenSSH PEM format and its
// public key.
func NewKey(t testing.TB) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}

// ServeSSH starts an SSH server for s's repositories, stopped by
// t.Cleanup. Repository paths in URLs are relative to s.Root.
func (s *Server) ServeSSH(t testing.TB) *SSHServer {
	t.Helper()
	RequireGit(t)
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	clientKey, clientPub := NewKey(t)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(clientPub.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(hostSigner)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	srv := &SSHServer{
		Addr:       l.Addr().String(),
		Port:       port,
		ClientKey:  clientKey,
		KnownHosts: []byte(fmt.Sprintf("[127.0.0.1]:%s %s", port, ssh.MarshalAuthorizedKey(hostSigner.PublicKey()))),
		root:       s.Root,
		listener:   l,
	}
	srv.wg.Add(1)
	go srv.accept(cfg)
	t.Cleanup(func() {
		l.Close()
		srv.wg.Wait()
	})
	return srv
}

func (s *SSHServer) accept(cfg *ssh.ServerConfig) {
	defer s.wg.Done()
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(conn, cfg)
		}()
	}
}

func (s *SSHServer) serve(conn net.Conn, cfg *ssh.ServerConfig) {
	defer conn.Close()
	sconn, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer sconn.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		s.session(ch, chReqs)
	}
}

// session waits for an exec of git-upload-pack or git-receive-pack and
// runs it on the repository named.
func (s *SSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			req.Reply(false, nil)
			return
		}
		service, repo, ok := strings.Cut(payload.Command, " ")
		if !ok || (service != "git-upload-pack" && service != "git-receive-pack") {
			req.Reply(false, nil)
			return
		}
		req.Reply(true, nil)
		repo = strings.Trim(repo, "'\"")
		dir := filepath.Join(s.root, filepath.Clean("/"+repo))
		cmd := exec.Command("git", strings.TrimPrefix(service, "git-"), dir)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
		cmd.WaitDelay = 5 * time.Second // the client may keep its side open
		status := uint32(0)
		if err := cmd.Run(); err != nil {
			status = 1
			io.WriteString(ch.Stderr(), err.Error()+"\n")
		}
		b := make([]byte, 4)
		binary.BigEndian.PutUint32(b, status)
		ch.SendRequest("exit-status", false, b)
		return
	}
}
