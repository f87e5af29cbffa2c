package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/internal/proctest"
)

// world is one end-to-end test's corner of the machine: a directory under
// /tmp holding the data dirs, HOME, clones and logs, and the unique names
// of the network resources its navarch processes create.
type world struct {
	t       testing.TB
	root    string // the repository's root (examples-repo, hack/run.sh)
	bin     string // the navarch binary under test
	suffix  string // 4 hex digits, in every name the test gives
	podCIDR string // the cluster's pod network (--cluster-cidr), a /20 of its own
	dir     string // /tmp/nve2e-<suffix>
	home    string // HOME of every command
	logs    string // the processes' logs

	goEnv  []string // GOCACHE, GOMODCACHE, GOPATH of the test's own user
	procs  []*proctest.Process
	starts int
}

// stopGrace is how long a process the test started may take to stop
// after SIGTERM before it is killed (and the test fails).
const stopGrace = 30 * time.Second

// tools the end-to-end tests run, besides navarch.
var requiredTools = []string{"containerd", "runc", "nft", "ip", "git", "curl", "openssl"}

// newWorld prepares a test's world, or skips the test when end-to-end
// tests are not asked for (NAVARCH_E2E=1) or the machine lacks what they
// need (a failure instead when CI=true). Cleanup removes everything it
// made, in reverse order of what was started.
func newWorld(t testing.TB) *world {
	t.Helper()
	if os.Getenv("NAVARCH_E2E") != "1" {
		t.Skip("end-to-end test: set NAVARCH_E2E=1 to run it (make test-e2e)")
	}
	containerdtest.Require(t, requiredTools...)
	_, self, _, _ := runtime.Caller(0)
	root, err := filepath.Abs(filepath.Join(filepath.Dir(self), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	w := &world{t: t, root: root, suffix: hex.EncodeToString(b), podCIDR: containerdtest.ClusterCIDR(t)}
	// Short and free of ',' and ':': containerd's socket path and
	// overlayfs mount options live under it.
	w.dir = filepath.Join(os.TempDir(), "nve2e-"+w.suffix)
	w.home, w.logs = filepath.Join(w.dir, "home"), filepath.Join(w.dir, "logs")
	for _, d := range []string{w.home, w.logs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(w.cleanup)
	// The quickstart runs go; with the test's HOME it would fill a new
	// module and build cache instead of using the user's.
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	for i, v := range strings.Fields(string(out)) {
		w.goEnv = append(w.goEnv, []string{"GOCACHE=", "GOMODCACHE=", "GOPATH="}[i]+v)
	}
	w.bin = os.Getenv("NAVARCH_BIN")
	if w.bin == "" {
		w.bin = kubectltest.Build(t, "github.com/navarch/navarch/cmd/navarch", "-X main.version=v0.0.0-e2e")
	} else if w.bin, err = filepath.Abs(w.bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("world %s: navarch %s, files in %s", w.suffix, w.bin, w.dir)
	return w
}

// name returns a name unique to this test, for a bridge, a table, a node:
// "nve2e<suffix><what>", at most 15 characters for a network interface.
func (w *world) name(what string) string { return "nve2e" + w.suffix + what }

// env is the environment of every command the test runs: the test's own,
// minus anything that points at a user's navarch or kubeconfig, plus a
// HOME of the test's and a fixed Git identity.
func (w *world) env(extra ...string) []string {
	env := append(kubectltest.Env(w.home), w.goEnv...)
	env = append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=E2E Tester", "GIT_AUTHOR_EMAIL=e2e@navarch.test",
		"GIT_COMMITTER_NAME=E2E Tester", "GIT_COMMITTER_EMAIL=e2e@navarch.test",
	)
	return append(env, extra...)
}

// start starts a long-running process and tracks it for the liveness
// checks of eventually. A name used before gets a number: each start has
// a log of its own.
func (w *world) start(name string, env []string, argv ...string) *proctest.Process {
	w.t.Helper()
	w.starts++
	if _, err := os.Stat(filepath.Join(w.logs, name+".log")); err == nil {
		name = fmt.Sprintf("%s-%d", name, w.starts)
	}
	w.t.Logf("start %s: %s", name, strings.Join(argv, " "))
	// Its own group: a signal meant for the test does not reach it, and
	// stopping it ends the group's stragglers (a script's children).
	p := proctest.Start(w.t, name, proctest.Options{
		Env: env, LogPath: filepath.Join(w.logs, name+".log"), Group: true, CleanupGrace: stopGrace,
	}, argv...)
	w.procs = append(w.procs, p)
	return p
}

// checkAlive fails the test at once when a tracked process that should run
// has ended, with the end of its log.
func (w *world) checkAlive() {
	w.t.Helper()
	for _, p := range w.procs {
		if done, err := p.Exited(); done {
			w.t.Fatalf("%s exited (%v); the end of its log:\n%s", p.Name, err, p.Tail(60))
		}
	}
}

// eventually polls check every 250 ms until it reports done, failing the
// test after timeout with what it is waiting for and the last state check
// saw. A navarch process that dies meanwhile fails the test at once.
func (w *world) eventually(timeout time.Duration, what string, check func() (done bool, state string)) {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	var state string
	for {
		var done bool
		done, state = check()
		if done {
			return
		}
		w.checkAlive()
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not done after %s; last seen: %s", what, timeout, state)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// cleanup stops every process by PID (newest first), then removes what
// they left on the machine, and the test's directory unless the test
// failed with NAVARCH_E2E_KEEP=1.
func (w *world) cleanup() {
	t := w.t
	for i := len(w.procs) - 1; i >= 0; i-- {
		if err := w.procs[i].Stop(stopGrace); err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		for _, p := range w.procs {
			t.Logf("--- the end of %s's log (%s):\n%s", p.Name, p.LogPath, p.Tail(80))
		}
	}
	proctest.ReapContainers(t, w.dir)
	w.removeNetwork()
	if t.Failed() && os.Getenv("NAVARCH_E2E_KEEP") == "1" {
		t.Logf("kept %s", w.dir)
		return
	}
	if err := os.RemoveAll(w.dir); err != nil {
		t.Errorf("remove %s: %v", w.dir, err)
	}
}

// removeNetwork deletes the links and nftables tables whose names carry
// the test's suffix, and the local route of its Service range.
func (w *world) removeNetwork() {
	prefix := w.name("")
	out, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		link := strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0]
		if strings.HasPrefix(link, prefix) {
			if b, err := exec.Command("ip", "link", "del", link).CombinedOutput(); err != nil {
				w.t.Logf("ip link del %s: %v: %s", link, err, b)
			}
		}
	}
	out, _ = exec.Command("nft", "list", "tables").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line) // table <family> <name>
		if len(f) == 3 && strings.HasPrefix(f[2], prefix) {
			if b, err := exec.Command("nft", "delete", "table", f[1], f[2]).CombinedOutput(); err != nil {
				w.t.Logf("nft delete table %s %s: %v: %s", f[1], f[2], err, b)
			}
		}
	}
	_ = exec.Command("ip", "route", "del", "local", w.serviceCIDR(), "dev", "lo", "table", "local").Run()
}

// serviceCIDR is the test's own Service range, a /16 of 10.64.0.0/10
// picked by the suffix, so that two tests on one machine do not share a
// route. (The pod range, w.podCIDR, is the test's own too.)
func (w *world) serviceCIDR() string {
	n, _ := strconv.ParseUint(w.suffix, 16, 16)
	return fmt.Sprintf("10.%d.0.0/16", 64+n%64)
}
