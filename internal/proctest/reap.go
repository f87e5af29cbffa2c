package proctest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Proc is what the machine's process table says of one process.
type Proc struct {
	// PPID is its parent's PID.
	PPID int
	// Args is its command line.
	Args []string
}

// Processes reads every process's parent and command line from /proc.
// Processes that end while it reads are left out.
func Processes() map[int]Proc {
	procs := map[int]Proc{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cmd, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		procs[pid] = Proc{PPID: ppid, Args: strings.Split(strings.TrimSuffix(string(cmd), "\x00"), "\x00")}
	}
	return procs
}

// NamingPathsUnder returns the command lines (space-joined) of the
// processes with an argument naming a path under dir: a node's containerd
// (its --config) and shims (their -address) when dir is its data dir.
func NamingPathsUnder(dir string) []string {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	var out []string
	for _, p := range Processes() {
		for _, a := range p.Args {
			if strings.HasPrefix(a, dir+"/") {
				out = append(out, strings.Join(p.Args, " "))
				break
			}
		}
	}
	return out
}

// ReapContainers removes what containers run by a test's containerd
// (with its socket under dir) can leave on the machine once the test's
// own processes have stopped. Containerd's shims outlive their daemon by
// design: every process whose -address names a socket under dir is
// killed, after the processes below it (the containers'), deepest first,
// each by its PID and logged. Then every mount point under dir (container
// root file systems, pinned network namespaces) is lazily unmounted,
// deepest first. Call it after stopping the processes that ran
// containerd under dir, and before removing dir.
func ReapContainers(tb testing.TB, dir string) {
	tb.Helper()
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	procs := Processes()
	for pid, p := range procs {
		if !addressUnder(p.Args, dir) {
			continue
		}
		for _, d := range descendants(procs, pid) {
			kill(tb, d, procs[d].Args)
		}
		kill(tb, pid, p.Args)
	}
	unmountUnder(tb, dir)
}

// addressUnder reports whether args hold -address (or --address) with a
// path under dir, as a containerd shim's do.
func addressUnder(args []string, dir string) bool {
	for i, a := range args {
		var v string
		switch {
		case a == "-address" || a == "--address":
			if i+1 < len(args) {
				v = args[i+1]
			}
		case strings.HasPrefix(a, "-address="), strings.HasPrefix(a, "--address="):
			_, v, _ = strings.Cut(a, "=")
		}
		if strings.HasPrefix(v, dir+"/") {
			return true
		}
	}
	return false
}

// descendants returns the children of pid, their children and so on,
// deepest first.
func descendants(procs map[int]Proc, pid int) []int {
	var out []int
	for child, p := range procs {
		if p.PPID == pid {
			out = append(out, descendants(procs, child)...)
			out = append(out, child)
		}
	}
	return out
}

// kill sends SIGKILL to one process a test's processes left behind.
func kill(tb testing.TB, pid int, args []string) {
	tb.Helper()
	tb.Logf("killing leftover process %d: %s", pid, strings.Join(args, " "))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		tb.Logf("kill %d: %v", pid, err)
	}
}

// unmountUnder lazily unmounts every mount point under dir, deepest
// first.
func unmountUnder(tb testing.TB, dir string) {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		tb.Logf("read mountinfo: %v", err)
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		if out, err := exec.Command("umount", "-l", points[i]).CombinedOutput(); err != nil {
			tb.Logf("umount %s: %v: %s", points[i], err, out)
		}
	}
}
