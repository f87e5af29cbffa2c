package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/internal/proctest"
)

// BenchmarkAgentIdleRSS joins `navarch agent` to `navarch server`, lets it
// idle for 15 s with its node Ready, and reports the agent process's
// resident memory (containerd, its child, excluded): all of it (VmRSS),
// its anonymous part (RssAnon: heap, stacks, runtime metadata) and its
// file-backed part (RssFile: pages of the one navarch binary it runs
// from), the latter split by the binary's mappings — exe-text (the r-x
// mapping: .text), exe-rodata (the r-- mapping: .rodata with the type
// descriptors, .gopclntab, .typelink, .itablink) and exe-data.
//
// The binary is built as `make build` builds it. The file-backed figure
// counts every page the kernel mapped, not only those the agent touched:
// on a fault in a file already in the page cache the kernel maps the
// cached pages around the faulting one too (64 KB, and whole large folios
// on recent kernels), so it depends on the page cache's state as much as
// on the agent. docs/benchmarks.md gives the pages actually touched.
func BenchmarkAgentIdleRSS(b *testing.B) {
	containerdtest.Require(b, "containerd", "runc")
	bin := kubectltest.Build(b, "github.com/navarch/navarch/cmd/navarch", "-s -w -X main.version="+testVersion)
	for range b.N {
		serverDir := b.TempDir()
		srv := startNodeServer(b, serverDir)
		cs := srv.clientset(b)
		out, err := exec.Command(bin, "token", "create", "--node", "idle", "--data-dir", serverDir).Output()
		if err != nil {
			b.Fatal(err)
		}
		agent := startAgent(b, bin, srv, strings.TrimSpace(string(out)), "idle", proctest.FreePort(b))
		deadline := time.Now().Add(time.Minute)
		for {
			n, err := cs.CoreV1().Nodes().Get(context.Background(), "idle", metav1.GetOptions{})
			if err == nil && ready(n) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("node not Ready\n%s", agent.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(15 * time.Second)
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", agent.PID()))
		if err != nil {
			b.Fatal(err)
		}
		for _, key := range []string{"VmRSS", "RssAnon", "RssFile"} {
			b.ReportMetric(float64(statusKB(b, string(st), key))/1024, "MiB-"+key)
		}
		for _, m := range exeMappings(b, agent.PID()) {
			b.ReportMetric(float64(m.rssKB)/1024, "MiB-exe-"+m.name)
			b.Logf("%s mapping of the binary: %.1f MiB of %.1f MiB resident", m.name, float64(m.rssKB)/1024, float64(m.sizeKB)/1024)
		}
		if err := stopAgent(agent.Process); err != nil {
			b.Fatal(err)
		}
	}
}

// statusKB reads a "Key:  N kB" line of /proc/<pid>/status.
func statusKB(tb testing.TB, status, key string) int {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatalf("no %s in status", key)
	return 0
}

// exeMapping is one mapping of a process's executable file.
type exeMapping struct {
	name          string // text (r-x), rodata (r--) or data (rw-)
	sizeKB, rssKB int
}

// exeMappings reads the mappings of pid's executable from
// /proc/<pid>/smaps, in address order.
func exeMappings(tb testing.TB, pid int) []exeMapping {
	tb.Helper()
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	names := map[string]string{"r-xp": "text", "r--p": "rodata", "rw-p": "data"}
	var out []exeMapping
	var cur *exeMapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			cur = nil
			if len(fields) == 6 && fields[5] == exe && names[fields[1]] != "" {
				out = append(out, exeMapping{name: names[fields[1]]})
				cur = &out[len(out)-1]
			}
		case cur != nil && len(fields) == 3 && (fields[0] == "Size:" || fields[0] == "Rss:"):
			n, err := strconv.Atoi(fields[1])
			if err != nil {
				tb.Fatal(err)
			}
			if fields[0] == "Size:" {
				cur.sizeKB = n
			} else {
				cur.rssKB = n
			}
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatalf("no mapping of %s in the smaps of %d", exe, pid)
	}
	return out
}
