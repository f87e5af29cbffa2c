package network_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/kubelet/network"
)

func TestPodGetsAnIPTheHostReachesAndTeardownFreesIt(t *testing.T) {
	opts := containerdtest.PodNetwork(t)
	m, err := network.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nsPath, err := network.CreateNetNS(m.NetNSDir(), "pod-a")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { network.RemoveNetNS(nsPath) })
	if !network.IsNetNS(nsPath) {
		t.Fatalf("got %s not a network namespace, want one", nsPath)
	}
	ip, err := m.Setup(ctx, "pod-a", nsPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, cidr, _ := net.ParseCIDR(opts.PodCIDR)
	if !cidr.Contains(ip) {
		t.Fatalf("got pod IP %s, want one in %s", ip, cidr)
	}
	alloc := filepath.Join(m.IPAMDir(), ip.String())
	if _, err := os.Stat(alloc); err != nil {
		t.Fatalf("got no host-local allocation file %s: %v", alloc, err)
	}

	ln := listenIn(t, nsPath)
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "pod-a") }))
	port := ln.Addr().(*net.TCPAddr).Port
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://%s:%d/", ip, port))
	if err != nil {
		t.Fatalf("host to pod IP: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "pod-a" {
		t.Errorf("got body %q from the pod, want %q", body, "pod-a")
	}
	ln.Close()

	if err := m.Teardown(ctx, "pod-a", nsPath); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(alloc); !os.IsNotExist(err) {
		t.Errorf("got allocation file %s after teardown (err %v), want it gone", alloc, err)
	}
	if err := m.Teardown(ctx, "pod-a", nsPath); err != nil {
		t.Errorf("second teardown: got %v, want nil", err)
	}
	if err := network.RemoveNetNS(nsPath); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(nsPath); !os.IsNotExist(err) {
		t.Errorf("got netns file after removal (err %v), want it gone", err)
	}
}

func TestTeardownWithoutNamespaceReleasesTheIP(t *testing.T) {
	opts := containerdtest.PodNetwork(t)
	m, err := network.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nsPath, err := network.CreateNetNS(m.NetNSDir(), "pod-b")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { network.RemoveNetNS(nsPath) })
	hostPort := int32(30000 + time.Now().UnixNano()%20000)
	ip, err := m.Setup(ctx, "pod-b", nsPath, []network.PortMapping{{HostPort: hostPort, ContainerPort: 80, Protocol: "tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := network.RemoveNetNS(nsPath); err != nil {
		t.Fatal(err)
	}
	if err := m.Teardown(ctx, "pod-b", nsPath); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.IPAMDir(), ip.String())); !os.IsNotExist(err) {
		t.Errorf("got allocation for %s after teardown (err %v), want it gone", ip, err)
	}
}

// A pod set up by a Manager is torn down by a teardown-only one, which
// knows no pod CIDR (navarch reset): with the configuration libcni cached
// at setup, its address and host port are released and its veth is gone.
// The teardown-only Manager sets nothing up.
func TestATeardownOnlyManagerTearsDownWithTheCachedConfiguration(t *testing.T) {
	opts := containerdtest.PodNetwork(t)
	m, err := network.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nsPath, err := network.CreateNetNS(m.NetNSDir(), "pod-c")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { network.RemoveNetNS(nsPath) })
	hostPort := int32(30000 + time.Now().UnixNano()%20000)
	ip, err := m.Setup(ctx, "pod-c", nsPath, []network.PortMapping{{HostPort: hostPort, ContainerPort: 80, Protocol: "tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	hostVeths := func() int { // the bridge's ports
		ports, _ := os.ReadDir(filepath.Join("/sys/class/net", opts.BridgeName, "brif"))
		return len(ports)
	}
	if hostVeths() != 1 {
		t.Fatalf("got %d interfaces on bridge %s after setup, want 1", hostVeths(), opts.BridgeName)
	}

	td := opts
	td.PodCIDR = ""
	tm, err := network.NewTeardown(td)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.Setup(ctx, "pod-d", nsPath, nil); err == nil {
		t.Errorf("setup through a teardown-only manager: got nil error, want one")
	}
	if err := tm.Teardown(ctx, "pod-c", nsPath); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.IPAMDir(), ip.String())); !os.IsNotExist(err) {
		t.Errorf("got allocation for %s after teardown (err %v), want it gone", ip, err)
	}
	if n := hostVeths(); n != 0 {
		t.Errorf("got %d interfaces on bridge %s after teardown, want 0", n, opts.BridgeName)
	}
}

func TestOptionsRejectBadValues(t *testing.T) {
	tests := []struct {
		name string
		opts network.Options
	}{
		{"bad cidr", network.Options{PodCIDR: "10.0.0.0", DataDir: "/tmp/x"}},
		{"relative data dir", network.Options{PodCIDR: "10.0.0.0/24", DataDir: "x"}},
		{"long bridge name", network.Options{PodCIDR: "10.0.0.0/24", DataDir: "/tmp/x", BridgeName: "a-very-long-bridge-name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.opts.Validate(); err == nil {
				t.Errorf("got nil error for %+v, want one", tt.opts)
			}
		})
	}
}

// listenIn opens a TCP listener on port 0 inside the namespace at nsPath.
func listenIn(t *testing.T, nsPath string) net.Listener {
	t.Helper()
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread changed namespace
		fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		ln, err := net.Listen("tcp", ":0")
		ch <- result{ln, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("listen in %s: %v", nsPath, r.err)
	}
	t.Cleanup(func() { r.ln.Close() })
	return r.ln
}
