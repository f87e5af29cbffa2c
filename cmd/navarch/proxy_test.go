package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/proctest"
	"github.com/navarch/navarch/proxy"
)

// requireProxyHost skips a test that changes the host's nftables and
// routes when it cannot (not root, or nft or ip missing); under CI it
// fails instead.
func requireProxyHost(t *testing.T) {
	t.Helper()
	reason := ""
	for _, tool := range []string{"nft", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			reason = "the " + tool + " command is not installed"
		}
	}
	if os.Geteuid() != 0 {
		reason = "the Service proxy changes nftables and routes, which needs root"
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// tableExists reports whether nftables holds the ip-family table.
func tableExists(t *testing.T, table string) bool {
	t.Helper()
	return exec.Command("nft", "list", "table", "ip", table).Run() == nil
}

// localRoute reports whether the local routing table routes cidr to this
// host.
func localRoute(t *testing.T, cidr string) bool {
	t.Helper()
	out, err := exec.Command("ip", "route", "show", "table", "local", cidr).Output()
	if err != nil {
		t.Fatalf("ip route show table local %s: %v", cidr, err)
	}
	return strings.Contains(string(out), "local "+cidr)
}

func TestUpRunsTheServiceProxyAndAgentCleanupRemovesWhatItMade(t *testing.T) {
	requireProxyHost(t)
	b := make([]byte, 3)
	rand.Read(b)
	suffix := hex.EncodeToString(b)
	table := "navarch-test-" + suffix
	// A range no one uses here, so that the proxy's local route and rules
	// catch no one else's traffic; no pod runs, so the bridge never appears.
	cidr := fmt.Sprintf("10.252.%d.0/24", b[0])
	t.Cleanup(func() {
		if err := proxy.Cleanup(context.Background(), table, cidr); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	dataDir, bridge := t.TempDir(), "nvp"+suffix
	t.Cleanup(func() { removeNodeLeftovers(t, dataDir, bridge) })
	up := startRole(t, "up", dataDir, "--proxy-table", table, "--service-cidr", cidr,
		"--service-node-port-range", "40100-40110", "--node-name", "proxy-"+suffix, "--bridge", bridge,
		"--cluster-cidr", containerdtest.ClusterCIDR(t),
		"--kubelet-port", strconv.Itoa(proctest.FreePort(t)), "--read-only-port", strconv.Itoa(proctest.FreePort(t)))

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	svc, err := up.clientset(t).CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ipnet, _ := net.ParseCIDR(cidr); !ipnet.Contains(net.ParseIP(svc.Spec.ClusterIP)) {
		t.Errorf("cluster IP %s is not in --service-cidr %s", svc.Spec.ClusterIP, cidr)
	}
	// Without endpoints, the proxy rejects the Service's traffic.
	want := fmt.Sprintf("%s . tcp . 80 : goto reject-chain", svc.Spec.ClusterIP)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := exec.Command("nft", "list", "map", "ip", table, "no-endpoint-services").CombinedOutput()
		if strings.Contains(string(out), want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy of navarch up did not program %q; nft says:\n%s\nnavarch up's log:\n%s", want, out, up.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !localRoute(t, cidr) {
		t.Errorf("no local route for the Service CIDR %s", cidr)
	}

	if code := up.stop(t); code != 0 {
		t.Fatalf("navarch up: exit %d after SIGTERM\n%s", code, up.log())
	}
	if !tableExists(t, table) {
		t.Errorf("the table went with navarch up; its rules should stay until cleanup")
	}

	for i := 0; i < 2; i++ { // a second cleanup finds nothing and is fine
		res := runNavarch(t, "", nil, "agent", "--cleanup", "--proxy-table", table, "--service-cidr", cidr)
		if res.code != 0 {
			t.Fatalf("agent --cleanup: exit %d\nstdout %s\nstderr %s", res.code, res.stdout, res.stderr)
		}
	}
	if tableExists(t, table) || localRoute(t, cidr) {
		t.Errorf("after agent --cleanup: table %v, route %v; want neither", tableExists(t, table), localRoute(t, cidr))
	}
}
