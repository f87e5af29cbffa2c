package containerd

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const cgroupRoot = "/sys/fs/cgroup"

func cgroupV2() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}

// oomKilled reports whether the kernel OOM-killed a process of the cgroup
// (cgroup v2 memory.events or v1 memory.oom_control, field oom_kill). It
// must be asked before the task is deleted, which removes the cgroup.
func oomKilled(cgroup string) bool {
	file := filepath.Join(cgroupRoot, "memory", cgroup, "memory.oom_control")
	if cgroupV2() {
		file = filepath.Join(cgroupRoot, cgroup, "memory.events")
	}
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == "oom_kill" {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n > 0
		}
	}
	return false
}

// removeCgroup removes an empty cgroup (a pod's parent cgroup) from every
// hierarchy; errors (not empty, not there) are ignored.
func removeCgroup(cgroup string) {
	if cgroupV2() {
		os.Remove(filepath.Join(cgroupRoot, cgroup))
		return
	}
	entries, err := os.ReadDir(cgroupRoot)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			os.Remove(filepath.Join(cgroupRoot, e.Name(), cgroup))
		}
	}
}
