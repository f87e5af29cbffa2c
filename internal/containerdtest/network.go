package containerdtest

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/navarch/navarch/kubelet/network"
)

// PodNetwork returns network options private to the test: a bridge named
// nvt<random>, a /24 from 10.200.0.0/13 that no route on the machine
// overlaps, and a data dir under t.TempDir(). The bridge is deleted when
// the test ends. It skips (fails with CI=true) without root or the CNI
// plugins.
func PodNetwork(t testing.TB) network.Options {
	t.Helper()
	Require(t, "ip")
	for _, p := range network.RequiredPlugins() {
		found := false
		for _, d := range network.DefaultPluginDirs() {
			if _, err := os.Stat(d + "/" + p); err == nil {
				found = true
			}
		}
		if !found {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CNI plugin %s not installed (CI=true, so not skipping)", p)
			}
			t.Skipf("CNI plugin %s not installed", p)
		}
	}
	var b [4]byte
	rand.Read(b[:])
	bridge := "nvt" + hex.EncodeToString(b[:])
	cidr, err := freePrefix(podSubnets, 24)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { DeleteLink(t, bridge) })
	// Not t.TempDir(): runc refuses namespace paths holding ',' (test names may).
	dir, err := os.MkdirTemp("", "navarch-net-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return network.Options{PodCIDR: cidr, BridgeName: bridge, NetworkName: "navarch-test", DataDir: dir}
}

// DeleteLink deletes the network interface name (a test's bridge) if it
// exists; a failure fails the test.
func DeleteLink(t testing.TB, name string) {
	t.Helper()
	if _, err := net.InterfaceByName(name); err != nil {
		return
	}
	if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil {
		t.Errorf("delete link %s: %v: %s", name, err, out)
	}
}

// Ranges the tests' pod networks come from: single nodes' /24s (the
// kubelet's own tests) and whole clusters' (navarch server and its
// agents). Neither overlaps navarch's default pod and Service ranges
// (10.244.0.0/16, 10.96.0.0/12) nor the ranges tests route otherwise
// (10.250.0.0/15 of the proxy's, 10.252.0.0/15 of cmd/navarch's Service
// ranges, 10.64.0.0/10 of test/e2e's).
var (
	podSubnets     = &net.IPNet{IP: net.IPv4(10, 200, 0, 0).To4(), Mask: net.CIDRMask(13, 32)}
	clusterSubnets = &net.IPNet{IP: net.IPv4(10, 208, 0, 0).To4(), Mask: net.CIDRMask(12, 32)}
)

// ClusterCIDR returns a pod network private to the test, for the
// --cluster-cidr of a navarch server and its agents: a /20 of
// 10.208.0.0/12 (room for 16 nodes' /24s) that no route on the machine
// overlaps, picked at random so that tests running at once on one machine
// do not share one.
func ClusterCIDR(t testing.TB) string {
	t.Helper()
	cidr, err := freePrefix(clusterSubnets, 20)
	if err != nil {
		t.Fatal(err)
	}
	return cidr
}

// freePrefix picks a random prefix of length bits in within overlapping
// no IPv4 route.
func freePrefix(within *net.IPNet, bits int) (string, error) {
	routes, err := ipv4Routes()
	if err != nil {
		return "", err
	}
	ones, _ := within.Mask.Size()
	base := binary.BigEndian.Uint32(within.IP.To4())
	for range 100 {
		var b [4]byte
		rand.Read(b[:])
		n := binary.BigEndian.Uint32(b[:]) % (1 << (bits - ones))
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, base+n<<(32-bits))
		cand := &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, 32)}
		free := true
		for _, r := range routes {
			if r.Contains(cand.IP) || cand.Contains(r.IP) {
				free = false
			}
		}
		if free {
			return cand.String(), nil
		}
	}
	return "", fmt.Errorf("no free /%d in %s", bits, within)
}

// ipv4Routes reads the kernel's IPv4 routes (not the default route).
func ipv4Routes() ([]*net.IPNet, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*net.IPNet
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(fields[1], 16, 32)
		mask, err2 := strconv.ParseUint(fields[7], 16, 32)
		if err1 != nil || err2 != nil || mask == 0 {
			continue
		}
		ip, m := make(net.IP, 4), make(net.IPMask, 4)
		binary.LittleEndian.PutUint32(ip, uint32(dst))
		binary.LittleEndian.PutUint32(m, uint32(mask))
		out = append(out, &net.IPNet{IP: ip, Mask: m})
	}
	return out, sc.Err()
}
