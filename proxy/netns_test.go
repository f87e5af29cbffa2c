package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// requireRoot skips a test that changes the host's network (netns, links,
// routes, nftables) when it cannot, unless CI=true, where it fails.
func requireRoot(t testing.TB) {
	t.Helper()
	var reason string
	for _, tool := range []string{"nft", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			reason = "the " + tool + " command is not installed"
		}
	}
	if os.Geteuid() != 0 {
		reason = "changing the host's network needs root"
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// run runs a command, failing the test on error.
func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// cleanupRun runs a command when the test ends, reporting a failure.
func cleanupRun(t testing.TB, name string, args ...string) {
	t.Helper()
	t.Cleanup(func() {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Errorf("cleanup: %s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	})
}

// testNet is a bridge on the host with pods (network namespaces joined to
// it by veth pairs), in 10.251.X.0/24, with X chosen so that no route of
// the host uses it.
type testNet struct {
	suffix  string
	x       int
	bridge  string
	podCIDR string
	gateway string
}

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	routes, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		t.Fatalf("ip route: %v", err)
	}
	n := &testNet{suffix: fmt.Sprintf("%06x", rand.IntN(1<<24))}
	for {
		n.x = 1 + rand.IntN(254)
		if !strings.Contains(string(routes), fmt.Sprintf("10.251.%d.", n.x)) {
			break
		}
	}
	n.bridge = "nvb" + n.suffix
	n.podCIDR = fmt.Sprintf("10.251.%d.0/24", n.x)
	n.gateway = fmt.Sprintf("10.251.%d.1", n.x)
	run(t, "ip", "link", "add", n.bridge, "type", "bridge")
	cleanupRun(t, "ip", "link", "del", n.bridge)
	run(t, "ip", "addr", "add", n.gateway+"/24", "dev", n.bridge)
	run(t, "ip", "link", "set", n.bridge, "up")
	return n
}

// ip returns the pod network's address ending in host.
func (n *testNet) ip(host int) string { return fmt.Sprintf("10.251.%d.%d", n.x, host) }

// addPod creates a network namespace joined to the bridge with address
// n.ip(host), and returns its name.
func (n *testNet) addPod(t *testing.T, name string, host int) string {
	t.Helper()
	ns := "nvp" + n.suffix + name
	run(t, "ip", "netns", "add", ns)
	cleanupRun(t, "ip", "netns", "del", ns)
	hostEnd, podEnd := "nvh"+n.suffix+name, "nvc"+n.suffix+name
	run(t, "ip", "link", "add", hostEnd, "type", "veth", "peer", "name", podEnd)
	run(t, "ip", "link", "set", podEnd, "netns", ns)
	run(t, "ip", "link", "set", hostEnd, "master", n.bridge, "up")
	// As the kubelet's CNI bridge does (hairpinMode): a pod reaching
	// itself through a Service gets its packets back on its own port.
	run(t, "ip", "link", "set", hostEnd, "type", "bridge_slave", "hairpin", "on")
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	run(t, "ip", "-n", ns, "link", "set", podEnd, "name", "eth0")
	run(t, "ip", "-n", ns, "addr", "add", n.ip(host)+"/24", "dev", "eth0")
	run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	run(t, "ip", "-n", ns, "route", "add", "default", "via", n.gateway)
	return ns
}

// inNetns runs fn on an OS thread inside the network namespace ns. Sockets
// fn opens belong to ns and may be used from any goroutine afterwards. The
// thread is never handed back to the Go runtime, which retires it.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// serveName serves, inside ns on port 8080, HTTP answers holding name.
func serveName(t *testing.T, ns, name string) {
	t.Helper()
	var ln net.Listener
	err := inNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp4", ":8080")
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", ns, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// client returns an HTTP client opening a new connection per request (so
// that every request is balanced anew), whose connections start in ns
// ("" for the host's namespace).
func client(ns string) *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second}
	dial := d.DialContext
	if ns != "" {
		dial = func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
			err = inNetns(ns, func() error {
				conn, err = d.DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		}
	}
	return &http.Client{
		Timeout:   3 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: dial},
	}
}

// get returns the body of a GET of url.
func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(resp.Status)
	}
	return string(b), nil
}

// tally returns how many of n requests each answer got.
func tally(t *testing.T, c *http.Client, url string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		body, err := get(c, url)
		if err != nil {
			t.Fatalf("request %d to %s: %v", i, url, err)
		}
		got[body]++
	}
	return got
}

// eventually polls cond every 50ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
