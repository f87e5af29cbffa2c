// Package containerdtest starts a private containerd daemon for a test: the
// same code (kubelet/containerd.StartDaemon) that navarch up and navarch
// agent use, with root, state, config and socket under t.TempDir().
//
// Tests that need it call Start; when containerd or runc is missing, or the
// test does not run as root, the test is skipped — unless CI=true, where it
// fails instead.
package containerdtest

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	ctrd "github.com/navarch/navarch/kubelet/containerd"
)

// Require skips (or, with CI=true, fails) the test unless it runs as root
// with the named tools on PATH.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "root privileges"
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil && missing == "" {
			missing = tool
		}
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("test needs %s (CI=true, so not skipping)", missing)
	}
	t.Skipf("test needs %s", missing)
}

// Start starts a containerd daemon for the test and returns its socket
// address. When the test ends, every task and container the daemon knows
// is killed and deleted (so no shim outlives the test) and the daemon is
// stopped by its PID.
func Start(t testing.TB) string {
	t.Helper()
	Require(t, "containerd", "runc")
	// Not t.TempDir(): test names may hold ',' which overlayfs mount
	// options cannot carry; a short name also keeps the socket path short.
	dir, err := os.MkdirTemp("", "navarch-ctd-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := ctrd.StartDaemon(ctx, ctrd.DaemonOptions{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	t.Cleanup(func() {
		purge(t, d.Address())
		if err := d.Stop(); err != nil {
			t.Errorf("stop containerd: %v", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove containerd dir: %v", err)
		}
	})
	return d.Address()
}

// purge kills and deletes every task and container in every namespace.
func purge(t testing.TB, address string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := containerd.New(address)
	if err != nil {
		t.Logf("purge containerd: %v", err)
		return
	}
	defer client.Close()
	nss, err := client.NamespaceService().List(ctx)
	if err != nil {
		t.Logf("purge containerd: %v", err)
		return
	}
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		cs, err := client.Containers(nctx)
		if err != nil {
			continue
		}
		for _, c := range cs {
			if task, err := c.Task(nctx, nil); err == nil {
				task.Kill(nctx, syscall.SIGKILL)
				if ch, err := task.Wait(nctx); err == nil {
					select {
					case <-ch:
					case <-time.After(5 * time.Second):
					}
				}
				task.Delete(nctx, containerd.WithProcessKill)
			}
			c.Delete(nctx, containerd.WithSnapshotCleanup)
		}
	}
}
