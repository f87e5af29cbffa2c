package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// procInfo is what reapContainers needs to know of a process.
type procInfo struct {
	ppid    int
	cmdline string
}

// readProcs reads every process's parent and command line from /proc.
func readProcs() map[int]procInfo {
	procs := map[int]procInfo{}
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
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cmd, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		procs[pid] = procInfo{ppid: ppid, cmdline: strings.ReplaceAll(string(cmd), "\x00", " ")}
	}
	return procs
}

// descendants returns the children of pid, their children and so on,
// deepest first.
func descendants(procs map[int]procInfo, pid int) []int {
	var out []int
	for child, p := range procs {
		if p.ppid == pid {
			out = append(out, descendants(procs, child)...)
			out = append(out, child)
		}
	}
	return out
}

// killPID sends SIGKILL to one process the test's processes started.
func killPID(t testing.TB, pid int, cmdline string) {
	t.Logf("killing leftover process %d: %s", pid, cmdline)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Logf("kill %d: %v", pid, err)
	}
}
