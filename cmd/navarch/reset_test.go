package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/proctest"
	"github.com/navarch/navarch/internal/testimage"
)

// TestResetRemovesWhatAStoppedNodeLeftAndRefusesWhileItRuns runs a pod
// with a memory volume on `navarch agent`. While the agent runs, `navarch
// reset` refuses and the pod keeps running. Once the agent has stopped
// (its pod's container, mounts, bridge and nftables table stay, as they
// do across a restart), reset leaves no container process, mount,
// network namespace, IP allocation, bridge or table of the node; reset
// --remove-data then removes the data dir.
func TestResetRemovesWhatAStoppedNodeLeftAndRefusesWhileItRuns(t *testing.T) {
	containerdtest.Require(t, "containerd", "runc", "nft", "ip")
	_, cs, agent := startJoinedNode(t, "rs1")
	dir := agent.dataDir
	ctx := context.Background()
	archive := filepath.Join(t.TempDir(), "testapp.tar")
	if err := os.WriteFile(archive, testimage.Archive(t, testimage.Ref, testimage.Image(t, "v1")), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runNavarch(t, "", nil, "image", "import", "--data-dir", dir, archive); r.code != 0 {
		t.Fatalf("image import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "left", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName: "rs1",
			Containers: []corev1.Container{{
				Name: "app", Image: testimage.Ref, ImagePullPolicy: corev1.PullNever,
				VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
			}},
			Volumes: []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}},
		},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := func() bool {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "left", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	}
	waitUntil(t, time.Minute, "pod left Running", running)
	flags := []string{"--data-dir", dir, "--bridge", agent.bridge, "--proxy-table", agent.proxyTable, "--service-cidr", agent.serviceCIDR}

	r := runNavarch(t, "", nil, append([]string{"reset"}, flags...)...)
	if r.code == 0 || !strings.Contains(r.stderr, "stop it first") || !strings.Contains(r.stderr, "node.lock") {
		t.Fatalf("reset while the agent runs: exit %d, stderr %q; want a refusal naming node.lock", r.code, r.stderr)
	}
	if got := len(proctest.NamingPathsUnder(dir)); got == 0 {
		t.Fatalf("after a refused reset no container process runs under %s", dir)
	}
	if !running() {
		t.Fatalf("after a refused reset the pod is no longer Running\n%s", agent.Log())
	}

	if err := stopAgent(agent.Process); err != nil {
		t.Fatalf("%v\n%s", err, agent.Log())
	}
	// What a stopped node keeps, so that its next start adopts the pod.
	if got := len(proctest.NamingPathsUnder(dir)); got == 0 {
		t.Fatalf("no container process runs under %s after the agent stopped", dir)
	}
	if got := mountsUnder(t, dir); len(got) == 0 {
		t.Fatalf("nothing mounted under %s after the agent stopped", dir)
	}
	if _, err := net.InterfaceByName(agent.bridge); err != nil {
		t.Fatalf("bridge %s: %v", agent.bridge, err)
	}
	if !nftTableExists(agent.proxyTable) {
		t.Fatalf("nftables table %s is missing after the agent stopped", agent.proxyTable)
	}

	r = runNavarch(t, "", nil, append([]string{"reset"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "removed 1 pods") {
		t.Fatalf("reset: exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	if got := len(proctest.NamingPathsUnder(dir)); got != 0 {
		t.Errorf("%d container processes still run under %s", got, dir)
	}
	if got := mountsUnder(t, dir); len(got) != 0 {
		t.Errorf("still mounted under %s: %v", dir, got)
	}
	if _, err := net.InterfaceByName(agent.bridge); err == nil {
		t.Errorf("bridge %s is still there", agent.bridge)
	}
	if nftTableExists(agent.proxyTable) {
		t.Errorf("nftables table %s is still there", agent.proxyTable)
	}
	if ns, _ := os.ReadDir(filepath.Join(dir, networkDir, "netns")); len(ns) != 0 {
		t.Errorf("network namespaces left: %d", len(ns))
	}
	if ips := allocatedIPs(t, filepath.Join(dir, networkDir, "ipam")); len(ips) != 0 {
		t.Errorf("pod IPs still allocated: %v", ips)
	}

	r = runNavarch(t, "", nil, append([]string{"reset", "--remove-data"}, flags...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "removed "+dir) {
		t.Fatalf("reset --remove-data: exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the data dir %s is still there (%v)", dir, err)
	}
}

// mountsUnder lists the mount points below dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.Mountpoint != dir {
			out = append(out, m.Mountpoint)
		}
	}
	return out
}

// nftTableExists reports whether the ip-family table name exists.
func nftTableExists(name string) bool {
	return exec.Command("nft", "list", "table", "ip", name).Run() == nil
}

// allocatedIPs lists host-local's allocation files under dir: one per
// address in use, named after it.
func allocatedIPs(t *testing.T, dir string) []string {
	t.Helper()
	var ips []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && net.ParseIP(d.Name()) != nil {
			ips = append(ips, d.Name())
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return ips
}

// TestResetLeavesABridgeThatOtherPodsUse runs navarch reset on a data dir
// with no node, naming a bridge that has an interface attached (as
// another node's pods would): the bridge stays and reset says why.
func TestResetLeavesABridgeThatOtherPodsUse(t *testing.T) {
	containerdtest.Require(t, "ip", "nft")
	var b [3]byte
	rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	bridge, port := "nvr"+suffix, "nvp"+suffix
	t.Cleanup(func() {
		containerdtest.DeleteLink(t, port) // and its peer
		containerdtest.DeleteLink(t, bridge)
	})
	for _, args := range [][]string{
		{"link", "add", bridge, "type", "bridge"},
		{"link", "add", port, "type", "veth", "peer", "name", "nvq" + suffix},
		{"link", "set", port, "master", bridge},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	r := runNavarch(t, "", nil, "reset", "--data-dir", t.TempDir(), "--bridge", bridge,
		"--proxy-table", "navarch-test-"+suffix, "--service-cidr", "10.253.250.0/24")
	if r.code == 0 || !strings.Contains(r.stderr, "still has 1 interfaces attached") {
		t.Errorf("reset: exit %d, stderr %q; want a failure saying the bridge is in use", r.code, r.stderr)
	}
	if _, err := net.InterfaceByName(bridge); err != nil {
		t.Errorf("bridge %s: %v; want it left in place", bridge, err)
	}
}
