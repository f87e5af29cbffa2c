package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/internal/testimage"
	ctrd "github.com/navarch/navarch/kubelet/containerd"
)

// TestAgentJoinsWithANodeTokenAndStopsItsContainerd runs `navarch server`,
// creates a node token with `navarch token create`, joins `navarch agent`
// with it (its own containerd under its data dir, a bridge and ports of
// its own), imports and lists an image with `navarch image`, and stops
// the agent, which stops its containerd.
func TestAgentJoinsWithANodeTokenAndStopsItsContainerd(t *testing.T) {
	containerdtest.Require(t, "containerd", "runc")
	serverDir := t.TempDir()
	server := startServer(t, serverDir)
	cs := server.clientset(t)

	tok := runNavarch(t, "", nil, "token", "create", "--node", "ag1", "--data-dir", serverDir)
	if tok.code != 0 || strings.TrimSpace(tok.stdout) == "" || !strings.Contains(tok.stderr, "navarch agent --server") {
		t.Fatalf("token create: exit %d\nstdout %q\nstderr %q", tok.code, tok.stdout, tok.stderr)
	}
	tokens, err := os.ReadFile(filepath.Join(serverDir, "tokens.csv"))
	if err != nil || !strings.Contains(string(tokens), strings.TrimSpace(tok.stdout)+",system:node:ag1") {
		t.Fatalf("tokens.csv: got %q (%v), want the new node token", tokens, err)
	}

	// Not t.TempDir(): the containerd socket path must stay short and
	// free of the ',' a test name may hold.
	agentDir, err := os.MkdirTemp("", "navarch-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(agentDir) })
	var b [3]byte
	rand.Read(b[:])
	roPort := freePortNumber(t)
	agent := exec.Command(navarchBinary(t), "agent", "--data-dir", agentDir,
		"--server", server.restConfig(t).Host, "--token", strings.TrimSpace(tok.stdout),
		"--ca-file", filepath.Join(serverDir, "pki", "ca.crt"), "--node-name", "ag1",
		"--bridge", "nvt"+hex.EncodeToString(b[:]), "--kubelet-port", strconv.Itoa(freePortNumber(t)),
		"--read-only-port", strconv.Itoa(roPort))
	agent.Env = kubectltest.Env(t.TempDir())
	logFile := filepath.Join(t.TempDir(), "agent.log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	agent.Stdout, agent.Stderr = out, out
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = agent.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			agent.Process.Kill()
			<-exited
		}
	})
	agentLog := func() string { b, _ := os.ReadFile(logFile); return string(b) }

	deadline := time.Now().Add(time.Minute)
	var node *corev1.Node
	for {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), "ag1", metav1.GetOptions{})
		if err == nil && n.Spec.PodCIDR != "" && ready(n) {
			node = n
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node ag1 not Ready with a pod CIDR within a minute (%v)\n%s", err, agentLog())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(node.Status.NodeInfo.ContainerRuntimeVersion, "containerd://") {
		t.Errorf("runtime version: got %q, want containerd://…", node.Status.NodeInfo.ContainerRuntimeVersion)
	}
	if _, err := cs.CoordinationV1().Leases("kube-node-lease").Get(context.Background(), "ag1", metav1.GetOptions{}); err != nil {
		t.Errorf("lease of ag1: %v", err)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(roPort) + "/healthz")
	if err != nil {
		t.Fatalf("read-only port: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("/healthz: got %q, want ok", body)
	}

	archive := filepath.Join(t.TempDir(), "testapp.tar")
	if err := os.WriteFile(archive, testimage.Archive(t, testimage.Ref, testimage.Image(t, "v1")), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runNavarch(t, "", nil, "image", "import", "--data-dir", agentDir, archive); r.code != 0 || !strings.Contains(r.stdout, "imported "+testimage.Ref) {
		t.Errorf("image import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runNavarch(t, "", nil, "image", "ls", "--data-dir", agentDir); r.code != 0 || !strings.Contains(r.stdout, testimage.Ref) {
		t.Errorf("image ls: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("agent exit: %v\n%s", waitErr, agentLog())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("agent still running 30s after SIGTERM\n%s", agentLog())
	}
	if c, err := net.Dial("unix", ctrd.DaemonAddress(filepath.Join(agentDir, "containerd"))); err == nil {
		c.Close()
		t.Errorf("the agent's containerd still answers after the agent stopped")
	}
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// freePortNumber returns a TCP port free on 127.0.0.1 a moment ago.
func freePortNumber(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
