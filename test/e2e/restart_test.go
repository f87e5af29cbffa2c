package e2e

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/navarch/navarch/internal/proctest"
)

// TestQuickstartStartsAgainWhereItStopped stops the quickstart as Ctrl-C
// does and runs it again on the same data dir: navarch up stops with it,
// and the second run reuses the repository and the Source and serves the
// application again. Stopped once more, it leaves the application's
// containers running, and navarch reset --remove-data then removes them,
// the bridge, the Service rules and route, and the data dir.
func TestQuickstartStartsAgainWhereItStopped(t *testing.T) {
	w := newWorld(t)
	c := w.quickstart()
	head := w.git(c.repo, "rev-parse", "main")
	c.stop()

	again := w.quickstart()
	if got := w.git(again.repo, "rev-parse", "main"); got != head {
		t.Errorf("the repository's main: got %s after the second run, want %s (not seeded again)", got, head)
	}
	if n := w.git(again.repo, "rev-list", "--count", "main"); n != "1" {
		t.Errorf("the repository has %s commits, want 1", n)
	}
	if log := again.script.Log(); strings.Contains(log, "creating the Git repository") {
		t.Error("the second run created the repository again")
	}
	src, err := again.source(sourceName)
	if err != nil {
		t.Fatal(err)
	}
	if !sourceReadyAt(src, head) {
		t.Errorf("got Source %s, want Ready at %s", describeSource(src), head)
	}
	ip := strings.TrimSpace(again.must("get", "service", "web", "-n", appNamespace, "-o", "jsonpath={.spec.clusterIP}"))
	w.eventually(30*time.Second, "a local route to "+ip, func() (bool, string) { return w.localRoute(ip) })
	w.eventuallyServes(ip, "v1")

	// Stopped again, the node leaves its pods running; navarch reset
	// --remove-data, as the README says, leaves nothing.
	again.stop()
	if n := len(proctest.NamingPathsUnder(again.dataDir)); n == 0 {
		t.Fatalf("no container runs under %s after navarch up stopped; want the pods kept", again.dataDir)
	}
	node := w.name("a") // the quickstart's bridge and nftables table (nodeFlags)
	out := again.must("reset", "--remove-data", "--data-dir="+again.dataDir,
		"--bridge="+node, "--proxy-table="+node, "--service-cidr="+w.serviceCIDR())
	t.Logf("navarch reset --remove-data:\n%s", out)
	if left := proctest.NamingPathsUnder(again.dataDir); len(left) != 0 {
		t.Errorf("still running after navarch reset: %v", left)
	}
	if _, err := os.Stat(again.dataDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the data dir %s is still there after reset --remove-data (%v)", again.dataDir, err)
	}
	if _, err := net.InterfaceByName(node); err == nil {
		t.Errorf("the bridge %s is still there after reset", node)
	}
	if exec.Command("nft", "list", "table", "ip", node).Run() == nil {
		t.Errorf("the nftables table %s is still there after reset", node)
	}
	if ok, state := w.localRoute(ip); ok {
		t.Errorf("the Service range is still routed after reset: %s", state)
	}
}

// stop stops the quickstart as Ctrl-C does and fails the test unless it
// ends within a minute with navarch up.
func (c *cluster) stop() {
	t := c.w.t
	t.Helper()
	upPID := c.upPID()
	if err := c.script.Cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.script.Done():
	case <-time.After(time.Minute):
		t.Fatalf("the quickstart did not stop within a minute of SIGINT:\n%s", c.script.Tail(20))
	}
	c.w.procs = slices.DeleteFunc(c.w.procs, func(p *proctest.Process) bool { return p == c.script })
	if err := syscall.Kill(upPID, 0); err == nil {
		t.Fatalf("navarch up (pid %d) still runs after the quickstart stopped", upPID)
	}
}

// upPID is the PID of the navarch up the quickstart started, as it said.
func (c *cluster) upPID() int {
	c.w.t.Helper()
	m := regexp.MustCompile(`started navarch up, pid (\d+)`).FindStringSubmatch(c.script.Log())
	if m == nil {
		c.w.t.Fatal("the quickstart did not say navarch up's pid")
	}
	pid, _ := strconv.Atoi(m[1])
	return pid
}
