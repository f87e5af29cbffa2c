package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/navarch/navarch/internal/proctest"
)

// The example application as the quickstart publishes it.
const (
	sourceName   = "hello" // the Source hack/run.sh creates
	appNamespace = "hello" // examples-repo/apps/namespace.yaml
	webSelector  = "app.kubernetes.io/name=web"
	imageV1      = "localhost/hello:v1" // internal/exampleapp
	imageV2      = "localhost/hello:v2"
	imageBroken  = "localhost/hello:broken"
)

// cluster is the quickstart's navarch, as the test started it.
type cluster struct {
	cli                       // the client, for the first node's data dir
	script  *proctest.Process // hack/run.sh, which runs navarch up
	repo    string            // the quickstart's bare repository
	apiPort int
}

// nodeFlags are the flags that keep one node's resources apart from the
// machine's and from other nodes': its name, bridge, kubelet ports and
// nftables table, and the cluster's Service and pod ranges.
func (w *world) nodeFlags(label string) []string {
	return []string{
		"--node-name=" + w.name(label),
		"--bridge=" + w.name(label),
		"--read-only-port=0",
		fmt.Sprintf("--kubelet-port=%d", proctest.FreePort(w.t)),
		"--proxy-table=" + w.name(label),
		"--service-cidr=" + w.serviceCIDR(),
		"--cluster-cidr=" + w.podCIDR,
	}
}

// clusterFlags are the flags of the control plane: its port.
func (w *world) clusterFlags(apiPort int) []string {
	return []string{fmt.Sprintf("--port=%d", apiPort)}
}

// quickstart runs hack/run.sh as `make run` does, with the world's own
// data dir, names and ports as extra `navarch up` flags, and waits until
// it says it is ready (the Source applied and the application available).
func (w *world) quickstart() *cluster {
	w.t.Helper()
	dataDir := filepath.Join(w.dir, "up")
	c := &cluster{cli: cli{w: w, dataDir: dataDir}, repo: filepath.Join(dataDir, "quickstart", "hello.git"), apiPort: proctest.FreePort(w.t)}
	args := append([]string{filepath.Join(w.root, "hack", "run.sh"), "--data-dir=" + dataDir}, w.clusterFlags(c.apiPort)...)
	args = append(args, w.nodeFlags("a")...)
	env := w.env("NAVARCH="+w.bin, "NAVARCH_DATA_DIR="+dataDir)
	start := time.Now()
	c.script = w.start("quickstart", env, args...)
	w.eventually(4*time.Minute, "the quickstart to say it is ready", func() (bool, string) {
		log := c.script.Log()
		return strings.Contains(log, "quickstart: ready"), lastLines(log, 3)
	})
	w.t.Logf("quickstart ready in %s", time.Since(start).Round(100*time.Millisecond))
	if _, err := os.Stat(c.repo); err != nil {
		w.t.Fatalf("the quickstart made no repository: %v", err)
	}
	return c
}

// lastLines returns the last n lines of s, joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
