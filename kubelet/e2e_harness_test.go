package kubelet_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/navarch/navarch/controllers"
	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/internal/testimage"
	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/kubelet"
	ctrd "github.com/navarch/navarch/kubelet/containerd"
	"github.com/navarch/navarch/kubelet/network"
)

func TestMain(m *testing.M) { os.Exit(kubectltest.Main(m)) }

// realNode is a kubelet on a private containerd daemon with a pod network
// of its own: a bridge nvt<random> and a /25 of a free /24, handed out by
// the node-IPAM controller.
type realNode struct {
	t       testing.TB
	srv     *testserver.Server
	name    string
	ctdDir  string
	net     network.Options // PodCIDR is the node's, once known
	state   string          // the runtime's state dir
	dataDir string
	token   string
	daemon  *ctrd.Daemon
	kubelet *runningKubelet

	mu sync.Mutex
	rt *ctrd.Runtime // the runtime of the running kubelet
}

// startRealNode starts containerd, the node-IPAM controller and a kubelet
// named name. Everything is stopped and removed when the test ends.
func startRealNode(t testing.TB, srv *testserver.Server, name string, change ...func(*kubelet.Options)) *realNode {
	t.Helper()
	containerdtest.Require(t, "containerd", "runc")
	netOpts := containerdtest.PodNetwork(t)
	// Not t.TempDir(): short paths for the socket and runc.
	ctdDir, err := os.MkdirTemp("", "navarch-ctd-")
	if err != nil {
		t.Fatal(err)
	}
	n := &realNode{t: t, srv: srv, name: name, ctdDir: ctdDir, net: netOpts,
		state: filepath.Join(ctdDir, "kubelet-state"), dataDir: t.TempDir(), token: srv.NodeToken(name)}
	n.startDaemon()
	t.Cleanup(n.cleanup)
	ipam, err := controllers.NewNodeIPAM(controllers.NodeIPAMOptions{
		Client: srv.ClientSet(), ClusterCIDR: netOpts.PodCIDR, NodeMaskSize: 25, Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ipamDone := make(chan struct{})
	go func() { ipam.Run(ctx); close(ipamDone) }()
	t.Cleanup(func() { cancel(); <-ipamDone })
	n.startKubelet(change...)
	return n
}

func (n *realNode) startDaemon() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := ctrd.StartDaemon(ctx, ctrd.DaemonOptions{Dir: n.ctdDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		n.t.Fatalf("start containerd: %v", err)
	}
	n.daemon = d
}

// startKubelet runs a (new) kubelet for the node on its data dir.
func (n *realNode) startKubelet(change ...func(*kubelet.Options)) {
	n.t.Helper()
	opts := fastOptions(n.name, n.srv.ClientSetFor(n.token), n.dataDir)
	opts.Address, opts.Port, opts.ClientCA = "127.0.0.1", kubelet.AnyPort, n.srv.API().CAPEM()
	opts.NewRuntime = n.newRuntime
	for _, f := range change {
		f(&opts)
	}
	n.kubelet = runKubelet(n.t, opts)
}

// newRuntime wires the pod network for the node's CIDR, connects to
// containerd and imports the test image.
func (n *realNode) newRuntime(ctx context.Context, podCIDR string) (kubelet.Runtime, error) {
	opts := n.net
	opts.PodCIDR = podCIDR
	netm, err := network.New(opts)
	if err != nil {
		return nil, err
	}
	rt, err := ctrd.New(ctx, ctrd.Options{Address: n.daemon.Address(), StateDir: n.state, Network: netm, Logger: testLogger()})
	if err != nil {
		return nil, err
	}
	if _, err := rt.ImportImage(ctx, bytes.NewReader(testArchive(n.t))); err != nil {
		rt.Close()
		return nil, err
	}
	n.mu.Lock()
	n.net.PodCIDR, n.rt = podCIDR, rt
	n.mu.Unlock()
	return rt, nil
}

var archive struct {
	once sync.Once
	data []byte
}

func testArchive(t testing.TB) []byte {
	archive.once.Do(func() { archive.data = testimage.Archive(t, testimage.Ref, testimage.Image(t, "v1")) })
	return archive.data
}

// runtime is the runtime of the running kubelet.
func (n *realNode) runtime() *ctrd.Runtime {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rt
}

// cleanup stops the kubelet, removes every sandbox (no container, netns
// or IP outlives the test), stops containerd and removes its folder.
func (n *realNode) cleanup() {
	if n.kubelet != nil {
		n.kubelet.stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if n.daemon != nil && n.net.PodCIDR != "" {
		netm, err := network.New(n.net)
		if err == nil {
			rt, err := ctrd.New(ctx, ctrd.Options{Address: n.daemon.Address(), StateDir: n.state, Network: netm, Logger: testLogger()})
			if err == nil {
				sbs, _ := rt.ListPodSandboxes(ctx, kubelet.SandboxFilter{})
				for _, sb := range sbs {
					if err := rt.RemovePodSandbox(ctx, sb.ID); err != nil {
						n.t.Errorf("remove sandbox %s: %v", sb.ID, err)
					}
				}
				ctrs, _ := rt.ListContainers(ctx, kubelet.ContainerFilter{})
				for _, c := range ctrs {
					rt.RemoveContainer(ctx, c.ID)
				}
				rt.Close()
			}
		}
	}
	if n.daemon != nil {
		n.daemon.Stop()
	}
	os.RemoveAll(n.ctdDir)
}

// exec runs cmd in the container with the given status id
// (containerd://…).
func (n *realNode) exec(t *testing.T, containerID string, cmd ...string) (int32, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := n.runtime().ExecSync(ctx, strings.TrimPrefix(containerID, "containerd://"), cmd, 10*time.Second)
	if err != nil {
		t.Fatalf("exec %v: %v", cmd, err)
	}
	return res.ExitCode, string(res.Output)
}

// ipamHolds reports whether host-local still records ip as allocated.
func (n *realNode) ipamHolds(ip string) bool {
	_, err := os.Stat(filepath.Join(n.net.DataDir, "ipam", n.net.NetworkName, ip))
	return err == nil
}

// httpGet GETs url (a pod's address) and returns the trimmed body.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	var lastErr error
	for range 50 {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return strings.TrimSpace(string(b))
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return ""
}

func containerStatus(p *corev1.Pod, name string) corev1.ContainerStatus {
	for _, c := range p.Status.ContainerStatuses {
		if c.Name == name {
			return c
		}
	}
	return corev1.ContainerStatus{}
}

func volumePath(n *realNode, p *corev1.Pod, volume, file string) string {
	return filepath.Join(n.dataDir, "pods", string(p.UID), "volumes", volume, file)
}
