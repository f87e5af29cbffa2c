package kubelet

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MachineInfo describes the node's machine; it is served at /spec and
// feeds the Node's capacity and nodeInfo.
type MachineInfo struct {
	NumCores        int    `json:"num_cores"`
	MemoryCapacity  int64  `json:"memory_capacity"`
	StorageCapacity int64  `json:"storage_capacity"`
	MachineID       string `json:"machine_id"`
	SystemUUID      string `json:"system_uuid"`
	BootID          string `json:"boot_id"`
	KernelVersion   string `json:"kernel_version"`
	OSImage         string `json:"os_image"`
	OperatingSystem string `json:"operating_system"`
	Architecture    string `json:"architecture"`
	Hostname        string `json:"hostname"`
}

// Pressure says whether the machine runs short of memory, disk or process
// ids, with a message for each condition.
type Pressure struct {
	Memory, Disk, PID                      bool
	MemoryMessage, DiskMessage, PIDMessage string
}

// Machine tells the kubelet about the machine it runs on. HostMachine
// reads the real one; hollow nodes use a fixed description.
type Machine interface {
	// Info describes the machine; it is read once at start.
	Info() MachineInfo
	// Pressure reports the resource pressure now; dataDir is the
	// filesystem whose space counts for disk pressure.
	Pressure(dataDir string) Pressure
}

// Pressure thresholds, as Kubernetes' default hard eviction thresholds
// (memory.available<100Mi, nodefs.available<10%), and 90% of the process
// id space for PID pressure.
const (
	memoryPressureBytes = 100 << 20
	diskPressureRatio   = 0.10
	pidPressureRatio    = 0.90
)

// HostMachine is the machine the process runs on, read from /proc, /sys
// and /etc.
type HostMachine struct {
	// DataDir is the filesystem reported as storage capacity; default /.
	DataDir string
}

// Info reads the machine's description; unreadable facts stay empty.
func (h HostMachine) Info() MachineInfo {
	mem := meminfo()
	dir := h.DataDir
	if dir == "" {
		dir = "/"
	}
	total, _ := diskSpace(dir)
	host, _ := os.Hostname()
	var uts unix.Utsname
	kernel := ""
	if unix.Uname(&uts) == nil {
		kernel = unix.ByteSliceToString(uts.Release[:])
	}
	return MachineInfo{
		NumCores:        runtime.NumCPU(),
		MemoryCapacity:  mem["MemTotal"],
		StorageCapacity: total,
		MachineID:       readTrimmed("/etc/machine-id"),
		SystemUUID:      readTrimmed("/sys/class/dmi/id/product_uuid"),
		BootID:          readTrimmed("/proc/sys/kernel/random/boot_id"),
		KernelVersion:   kernel,
		OSImage:         osImage(),
		OperatingSystem: runtime.GOOS,
		Architecture:    runtime.GOARCH,
		Hostname:        host,
	}
}

// Pressure compares available memory, disk space and process ids with
// Kubernetes' default eviction thresholds.
func (h HostMachine) Pressure(dataDir string) Pressure {
	var p Pressure
	if avail, ok := meminfo()["MemAvailable"]; ok && avail < memoryPressureBytes {
		p.Memory, p.MemoryMessage = true, "available memory "+strconv.FormatInt(avail>>20, 10)+"Mi is below 100Mi"
	}
	if total, avail := diskSpace(dataDir); total > 0 && float64(avail) < diskPressureRatio*float64(total) {
		p.Disk, p.DiskMessage = true, "available disk space on "+dataDir+" is below 10%"
	}
	if used, max := processes(); max > 0 && float64(used) > pidPressureRatio*float64(max) {
		p.PID, p.PIDMessage = true, "more than 90% of process ids are in use"
	}
	return p
}

// meminfo reads /proc/meminfo in bytes.
func meminfo() map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			n <<= 10
		}
		out[k] = n
	}
	return out
}

// diskSpace returns the size and the space available to users of the
// filesystem holding dir.
func diskSpace(dir string) (total, avail int64) {
	var st unix.Statfs_t
	for d := dir; ; {
		if err := unix.Statfs(d, &st); err == nil {
			return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize
		}
		parent := d[:max(strings.LastIndex(d, "/"), 1)]
		if parent == d {
			return 0, 0
		}
		d = parent
	}
}

// processes returns the number of threads the kernel schedules and the
// size of the process id space.
func processes() (used, max int64) {
	max, _ = strconv.ParseInt(readTrimmed("/proc/sys/kernel/pid_max"), 10, 64)
	fields := strings.Fields(readTrimmed("/proc/loadavg"))
	if len(fields) >= 4 {
		if _, total, ok := strings.Cut(fields[3], "/"); ok {
			used, _ = strconv.ParseInt(total, 10, 64)
		}
	}
	return used, max
}

func osImage() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return runtime.GOOS
}

func readTrimmed(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// hasDefaultRoute reports whether the IPv4 default route goes through the
// named interface.
func hasDefaultRoute(iface string) bool {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 7 && fields[0] == iface && fields[1] == "00000000" && fields[7] == "00000000" {
			return true
		}
	}
	return false
}

// FakeMachine is a fixed machine for hollow nodes: it never reports
// pressure.
type FakeMachine struct{ MachineInfo }

// Info returns the fixed description.
func (f FakeMachine) Info() MachineInfo { return f.MachineInfo }

// Pressure reports none.
func (FakeMachine) Pressure(string) Pressure { return Pressure{} }
