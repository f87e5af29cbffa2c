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
	cidr, err := freeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := net.InterfaceByName(bridge); err == nil {
			if out, err := exec.Command("ip", "link", "del", bridge).CombinedOutput(); err != nil {
				t.Logf("delete bridge %s: %v: %s", bridge, err, out)
			}
		}
	})
	// Not t.TempDir(): runc refuses namespace paths holding ',' (test names may).
	dir, err := os.MkdirTemp("", "navarch-net-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return network.Options{PodCIDR: cidr, BridgeName: bridge, NetworkName: "navarch-test", DataDir: dir}
}

// freeSubnet picks a random /24 in 10.200.0.0/13 overlapping no IPv4 route.
func freeSubnet() (string, error) {
	routes, err := ipv4Routes()
	if err != nil {
		return "", err
	}
	for range 100 {
		var b [2]byte
		rand.Read(b[:])
		cand := &net.IPNet{IP: net.IPv4(10, 200+b[0]%8, b[1], 0).To4(), Mask: net.CIDRMask(24, 32)}
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
	return "", fmt.Errorf("no free /24 in 10.200.0.0/13")
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
