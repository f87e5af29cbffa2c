package proctest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReapContainersKillsTheShimsOfItsDirAndWhatRunsBelowThem(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	script := `sleep 60 & echo child $!; wait`
	shim := Start(t, "shim", Options{}, "sh", "-c", script,
		"containerd-shim-runc-v2", "-namespace", "navarch", "-id", "pod", "-address", dir+"/containerd/containerd.sock")
	otherShim := Start(t, "other-shim", Options{}, "sh", "-c", script,
		"containerd-shim-runc-v2", "-namespace", "navarch", "-id", "pod", "-address", other+"/containerd/containerd.sock")
	namesDir := Start(t, "names-dir", Options{}, "sh", "-c", script, "tail", "-f", dir+"/log")
	for _, p := range []*Process{shim, otherShim, namesDir} {
		waitLogged(t, p, "child ")
	}
	container := childPID(t, shim)

	ReapContainers(t, dir)

	select {
	case <-shim.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the shim of dir still runs")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !gone(container) {
		if time.Now().After(deadline) {
			t.Fatalf("the shim's child %d still runs", container)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range []*Process{otherShim, namesDir} {
		if done, _ := p.Exited(); done {
			t.Errorf("%s: got it killed, want it left alone (no -address under %s)", p.Name, dir)
		}
	}
}

func TestReapContainersUnmountsEverythingUnderItsDir(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("mounting needs root (CI=true, so not skipping)")
		}
		t.Skip("mounting needs root")
	}
	dir := t.TempDir()
	outer := filepath.Join(dir, "containerd", "rootfs")
	inner := filepath.Join(outer, "proc")
	for _, p := range []string{outer, inner} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "tmpfs", p).CombinedOutput(); err != nil {
			t.Fatalf("mount %s: %v: %s", p, err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", "-l", p).Run() })
	}

	ReapContainers(t, dir)

	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(info), " "+dir+"/") {
		t.Errorf("got mounts under %s left:\n%s", dir, info)
	}
}

// childPID reads the PID a process logged as "child <pid>".
func childPID(t *testing.T, p *Process) int {
	t.Helper()
	for _, f := range strings.Fields(p.Log()) {
		if n, err := strconv.Atoi(f); err == nil {
			return n
		}
	}
	t.Fatalf("no child PID in %q", p.Log())
	return 0
}

// gone reports whether pid has ended (a zombie has).
func gone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] == "Z"
}
