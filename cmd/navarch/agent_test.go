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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

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

	roPort := proctest.FreePort(t)
	agent := startAgent(t, navarchBinary(t), server, strings.TrimSpace(tok.stdout), "ag1", roPort)
	agentDir, agentLog := agent.dataDir, agent.Log
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

	if err := stopAgent(agent.Process); err != nil {
		t.Errorf("%v\n%s", err, agentLog())
	}
	if c, err := net.Dial("unix", ctrd.DaemonAddress(filepath.Join(agentDir, "containerd"))); err == nil {
		c.Close()
		t.Errorf("the agent's containerd still answers after the agent stopped")
	}
}

// agentProcess is `navarch agent` started by startAgent.
type agentProcess struct {
	*proctest.Process
	// dataDir is the agent's data dir, its containerd's among others.
	dataDir string
	// bridge, proxyTable and serviceCIDR are its --bridge, --proxy-table
	// and --service-cidr.
	bridge, proxyTable, serviceCIDR string
}

// startAgent starts `navarch agent` joining server (started with
// startNodeServer) with token as node: in a data dir of its own, with a
// bridge, nftables table, Service range and kubelet port of its own, the
// server's cluster CIDR, and the read-only port roPort. When the test
// ends, after the cleanups registered later (which may still use the
// agent), it cordons the node, deletes the pods on it and waits for them
// while the agent runs; then it stops the agent and removes what the
// agent and its pods left on the machine (removeNodeLeftovers), the
// proxy's table and route, and the data dir.
func startAgent(tb testing.TB, bin string, server *serverProcess, token, node string, roPort int) *agentProcess {
	tb.Helper()
	// Not t.TempDir(): the containerd socket path must stay short and
	// free of the ',' a test name may hold.
	dataDir, err := os.MkdirTemp("", "navarch-agent-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dataDir) })
	var b [3]byte
	rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	// The agent's Service proxy gets a table of its own and routes a range
	// no one uses here (the test runs no Service).
	bridge, table, cidr := "nvt"+suffix, "navarch-test-"+suffix, fmt.Sprintf("10.253.%d.0/24", b[0])
	tb.Cleanup(func() {
		removeNodeLeftovers(tb, dataDir, bridge)
		if err := proxy.Cleanup(context.Background(), table, cidr); err != nil {
			tb.Errorf("remove the agent's proxy table and route: %v", err)
		}
	})
	p := proctest.Start(tb, "agent", proctest.Options{Env: kubectltest.Env(tb.TempDir())},
		bin, "agent", "--data-dir", dataDir, "--server", server.restConfig(tb).Host, "--token", token,
		"--ca-file", filepath.Join(server.dataDir, "pki", "ca.crt"), "--node-name", node, "--bridge", bridge,
		"--kubelet-port", strconv.Itoa(proctest.FreePort(tb)), "--read-only-port", strconv.Itoa(roPort),
		"--proxy-table", table, "--service-cidr", cidr, "--cluster-cidr", server.clusterCIDR)
	a := &agentProcess{Process: p, dataDir: dataDir, bridge: bridge, proxyTable: table, serviceCIDR: cidr}
	tb.Cleanup(func() {
		if done, _ := p.Exited(); !done {
			drainNode(tb, server.clientset(tb), node, p.Log)
		}
		if err := stopAgent(p); err != nil {
			tb.Errorf("%v\n%s", err, p.Log())
		}
	})
	return a
}

// startJoinedNode starts `navarch server` (startNodeServer) and a `navarch
// agent` (startAgent) joined to it as node with a token from `navarch
// token create`, and waits until the node is Ready with a pod CIDR.
func startJoinedNode(t *testing.T, node string) (*serverProcess, kubernetes.Interface, *agentProcess) {
	t.Helper()
	serverDir := t.TempDir()
	server := startNodeServer(t, serverDir)
	cs := server.clientset(t)
	tok := runNavarch(t, "", nil, "token", "create", "--node", node, "--data-dir", serverDir)
	if tok.code != 0 {
		t.Fatalf("token create: exit %d\n%s", tok.code, tok.stderr)
	}
	agent := startAgent(t, navarchBinary(t), server, strings.TrimSpace(tok.stdout), node, proctest.FreePort(t))
	waitUntil(t, time.Minute, "node "+node+" Ready with a pod CIDR", func() bool {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		return err == nil && n.Spec.PodCIDR != "" && ready(n)
	})
	return server, cs, agent
}

// drainNode cordons node, deletes every pod bound to it and waits until
// none has been for a second (the scheduler may bind one it decided on
// before it saw the cordon): the node's kubelet has then stopped their
// containers and torn down their network, which a stopped agent would
// leave behind.
func drainNode(tb testing.TB, cs kubernetes.Interface, node string, agentLog func() string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cs.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{}); err != nil {
		tb.Errorf("cordon node %s: %v", node, err)
		return
	}
	onNode := metav1.ListOptions{FieldSelector: "spec.nodeName=" + node}
	var emptySince time.Time
	for {
		pods, err := cs.CoreV1().Pods("").List(ctx, onNode)
		switch {
		case err != nil || len(pods.Items) > 0:
			emptySince = time.Time{}
		case emptySince.IsZero():
			emptySince = time.Now()
		case time.Since(emptySince) >= time.Second:
			return
		}
		if err == nil {
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil {
					if err := cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
						tb.Errorf("delete pod %s/%s: %v", p.Namespace, p.Name, err)
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			tb.Errorf("pods still on node %s a minute after they were deleted (%v)\n%s", node, err, agentLog())
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// removeNodeLeftovers removes what a node run by the test (navarch agent
// or navarch up, stopped by now) and its pods may have left on the
// machine: containerd shims and their containers, mounts under its data
// dir (containers' root file systems, pinned network namespaces), and its
// bridge.
func removeNodeLeftovers(tb testing.TB, dataDir, bridge string) {
	tb.Helper()
	proctest.ReapContainers(tb, dataDir)
	containerdtest.DeleteLink(tb, bridge)
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
