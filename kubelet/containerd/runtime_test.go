package containerd_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/kubelet"
	ctrd "github.com/navarch/navarch/kubelet/containerd"
	"github.com/navarch/navarch/kubelet/network"
	"github.com/navarch/navarch/kubelet/runtimetest"
)

// env is a private containerd, pod network and runtime for one test.
type env struct {
	rt      *ctrd.Runtime
	address string
	net     *network.Manager
	state   string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	address := containerdtest.Start(t)
	netm, err := network.New(containerdtest.PodNetwork(t))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{address: address, net: netm, state: t.TempDir()}
	e.rt = e.open(t)
	return e
}

// open connects a new Runtime to the env's daemon and state; when the test
// ends it removes every sandbox and closes.
func (e *env) open(t testing.TB) *ctrd.Runtime {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := ctrd.New(ctx, ctrd.Options{Address: e.address, StateDir: e.state, Network: e.net,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sbs, _ := rt.ListPodSandboxes(ctx, kubelet.SandboxFilter{})
		for _, sb := range sbs {
			if err := rt.RemovePodSandbox(ctx, sb.ID); err != nil {
				t.Errorf("remove sandbox %s: %v", sb.ID, err)
			}
		}
		rt.Close()
	})
	return rt
}

func TestConformance(t *testing.T) {
	runtimetest.Run(t, func(t *testing.T) kubelet.Runtime { return newEnv(t).rt })
}
