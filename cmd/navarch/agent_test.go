package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/internal/proctest"
	"github.com/navarch/navarch/internal/testimage"
	ctrd "github.com/navarch/navarch/kubelet/containerd"
	"github.com/navarch/navarch/proxy"
)

// TestAgentJoinsWithANodeTokenAndStopsItsContainerd runs `navarch server`,
// creates a node token with `navarch token create`, joins `navarch agent`
// with it (its own containerd under its data dir, a bridge and ports of
// its own), imports and lists an image with `navarch image`, and stops
// the agent, which stops its containerd.
func TestAgentJoinsWithANodeTokenAndStopsItsContainerd(t *testing.T) {
	containerdtest.Require(t, "containerd", "runc")
	serverDir := t.TempDir()
	server := startNodeServer(t, serverDir)
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
	roPort := proctest.FreePort(t)
	agent := startAgent(t, navarchBinary(t), agentDir, server, strings.TrimSpace(tok.stdout), "ag1", roPort)
	agentLog := agent.Log
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
	_, cluster, _ := net.ParseCIDR(server.clusterCIDR)
	if ip, _, err := net.ParseCIDR(node.Spec.PodCIDR); err != nil || !cluster.Contains(ip) {
		t.Errorf("pod CIDR: got %q, want a /24 of the server's --cluster-cidr %s", node.Spec.PodCIDR, server.clusterCIDR)
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

	if err := stopAgent(agent); err != nil {
		t.Errorf("%v\n%s", err, agentLog())
	}
	if c, err := net.Dial("unix", ctrd.DaemonAddress(filepath.Join(agentDir, "containerd"))); err == nil {
		c.Close()
		t.Errorf("the agent's containerd still answers after the agent stopped")
	}
}

// startAgent starts `navarch agent` joining server with token as node,
// with a bridge and kubelet port of its own, the server's cluster CIDR and
// the read-only port roPort; it is killed when the test ends if still
// running.
func startAgent(tb testing.TB, bin, dataDir string, server *serverProcess, token, node string, roPort int) *proctest.Process {
	tb.Helper()
	var b [3]byte
	rand.Read(b[:])
	// The agent's Service proxy gets a table of its own and routes a range
	// no one uses here (the test runs no Service); both go when it ends.
	table, cidr := "navarch-test-"+hex.EncodeToString(b[:]), fmt.Sprintf("10.253.%d.0/24", b[0])
	tb.Cleanup(func() {
		if err := proxy.Cleanup(context.Background(), table, cidr); err != nil {
			tb.Errorf("remove the agent's proxy table and route: %v", err)
		}
	})
	return proctest.Start(tb, "agent", proctest.Options{Env: kubectltest.Env(tb.TempDir())},
		bin, "agent", "--data-dir", dataDir, "--server", server.restConfig(tb).Host, "--token", token,
		"--ca-file", filepath.Join(server.dataDir, "pki", "ca.crt"), "--node-name", node, "--bridge", "nvt"+hex.EncodeToString(b[:]),
		"--kubelet-port", strconv.Itoa(proctest.FreePort(tb)), "--read-only-port", strconv.Itoa(roPort),
		"--proxy-table", table, "--service-cidr", cidr, "--cluster-cidr", server.clusterCIDR)
}

// stopAgent sends SIGTERM and waits up to 30s for a clean exit.
func stopAgent(a *proctest.Process) error {
	if err := a.Stop(30 * time.Second); err != nil {
		return err
	}
	if err := a.Err(); err != nil {
		return fmt.Errorf("agent exit: %w", err)
	}
	return nil
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
