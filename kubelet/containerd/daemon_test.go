package containerd_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/kubelet"
	ctrd "github.com/navarch/navarch/kubelet/containerd"
	"github.com/navarch/navarch/kubelet/network"
)

func TestDaemonOptionsRejectBadDirs(t *testing.T) {
	tests := []struct {
		name string
		dir  string
	}{
		{"empty", ""},
		{"relative", "data/containerd"},
		{"with a comma", "/tmp/a,b"},
		{"with a colon", "/tmp/a:b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := (ctrd.DaemonOptions{Dir: tt.dir}).Validate(); err == nil {
				t.Errorf("got nil error for dir %q, want one", tt.dir)
			}
		})
	}
}

func TestSupervisedDaemonComesBackAndTheRuntimeReconnects(t *testing.T) {
	containerdtest.Require(t, "containerd", "runc")
	dir, err := os.MkdirTemp("", "navarch-sup-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()
	sup, err := ctrd.Supervise(ctx, ctrd.DaemonOptions{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sup.Stop(); err != nil {
			t.Errorf("stop supervisor: %v", err)
		}
	})
	netm, err := network.New(containerdtest.PodNetwork(t))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{address: sup.Address(), net: netm, state: t.TempDir()}
	e.rt = e.open(t)
	e.importImage(t)
	sb := e.sandbox(t, e.rt, "survivor")
	id := e.run(t, e.rt, sb.ID, kubelet.ContainerConfig{Name: "app", Args: []string{"sleep"}})
	before := waitState(t, e.rt, id, kubelet.ContainerRunning, 10*time.Second)

	pid := sup.Pid()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		err := e.rt.Ping(ctx)
		return errors.Is(err, kubelet.ErrUnavailable)
	})
	waitFor(t, 30*time.Second, func() bool {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return e.rt.Ping(pctx) == nil
	})
	if sup.Pid() == pid {
		t.Fatalf("got the same daemon pid %d after the restart, want a new one", pid)
	}
	after := waitState(t, e.rt, id, kubelet.ContainerRunning, 10*time.Second)
	if after.Pid != before.Pid {
		t.Errorf("got pid %d after the daemon restart, want the same process %d", after.Pid, before.Pid)
	}
	if err := e.rt.StopContainer(ctx, id, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := waitState(t, e.rt, id, kubelet.ContainerExited, 5*time.Second); st.ExitCode != 143 {
		t.Errorf("got exit %d after stop, want 143", st.ExitCode)
	}
	if !strings.HasPrefix(sup.Address(), "/") {
		t.Errorf("got address %q, want a socket path", sup.Address())
	}
}
