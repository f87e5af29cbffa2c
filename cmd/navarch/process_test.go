package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/internal/proctest"
)

// testVersion is linked into the navarch binary the tests build.
const testVersion = "v0.0.0-test"

// navarchBinary builds navarch once per test binary and returns its path.
func navarchBinary(t testing.TB) string {
	t.Helper()
	return kubectltest.Build(t, "github.com/navarch/navarch/cmd/navarch", "-X main.version="+testVersion)
}

// serverProcess is `navarch server` (or `navarch up`) running as a child
// process.
type serverProcess struct {
	proc       *proctest.Process
	cmd        *exec.Cmd       // proc.Cmd
	exited     <-chan struct{} // proc.Done()
	dataDir    string
	kubeconfig string
	// clusterCIDR is the pod network startNodeServer gave the server, and
	// its agents must take.
	clusterCIDR string
}

// startServer starts the built `navarch server` on a free port with its
// state in dataDir, and returns once its API answers /readyz with the
// kubeconfig it wrote. The process is killed when the test ends if it is
// still running.
func startServer(t testing.TB, dataDir string) *serverProcess {
	t.Helper()
	return startRole(t, "server", dataDir)
}

// startNodeServer is startServer for a test that joins nodes running
// real containers: the server gets a pod network of the test's own
// (--cluster-cidr), so that its nodes' bridges and routes are apart from
// those of other tests on the machine.
func startNodeServer(t testing.TB, dataDir string) *serverProcess {
	t.Helper()
	cidr := containerdtest.ClusterCIDR(t)
	p := startRole(t, "server", dataDir, "--cluster-cidr="+cidr)
	p.clusterCIDR = cidr
	return p
}

// startRole is startServer for any serving subcommand (server, up), with
// extra flags after the usual ones.
func startRole(t testing.TB, role, dataDir string, extra ...string) *serverProcess {
	t.Helper()
	bin := navarchBinary(t)
	kubeconfig := filepath.Join(dataDir, "kubeconfig")
	// A kubeconfig left by an earlier run names an old port: wait for the new one.
	if err := os.Remove(kubeconfig); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	argv := append([]string{bin, role, "--data-dir=" + dataDir, "--port=0", "--log-level=debug"}, extra...)
	proc := proctest.Start(t, role, proctest.Options{Env: kubectltest.Env(t.TempDir())}, argv...)
	p := &serverProcess{proc: proc, cmd: proc.Cmd, exited: proc.Done(), dataDir: dataDir, kubeconfig: kubeconfig}
	if err := p.waitReady(60 * time.Second); err != nil {
		t.Fatalf("navarch %s did not become ready: %v\n%s", role, err, p.log())
	}
	return p
}

// waitReady polls until the kubeconfig exists and /readyz answers 200.
func (p *serverProcess) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("exited: %v", p.proc.Err())
		case <-ctx.Done():
			return fmt.Errorf("%w; last: %v", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", p.kubeconfig)
		if err != nil {
			last = err
			continue
		}
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return err
		}
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("%w: %s", err, body)
	}
}

// stop sends SIGTERM to the server and waits for it to exit; it returns
// the exit code. The test fails if the server takes longer than 30s.
func (p *serverProcess) stop(t testing.TB) int {
	t.Helper()
	if err := p.proc.Stop(30 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, p.log())
	}
	return p.proc.ExitCode()
}

// kill9 kills the server with SIGKILL and waits for it to be gone.
func (p *serverProcess) kill9() { p.proc.Kill() }

// log returns what the server printed so far.
func (p *serverProcess) log() string { return p.proc.Log() }

// restConfig is the admin client configuration from the written kubeconfig.
func (p *serverProcess) restConfig(t testing.TB) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", p.kubeconfig)
	if err != nil {
		t.Fatalf("read kubeconfig: %v", err)
	}
	return cfg
}

// clientset is a typed client for the server, as its admin.
func (p *serverProcess) clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(p.restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cliResult is what one run of the navarch CLI printed and how it ended.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runNavarch runs the built navarch binary with args, stdin as its input
// and env added to a clean environment (no KUBECONFIG, a fresh HOME).
func runNavarch(t *testing.T, stdin string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, navarchBinary(t), args...)
	cmd.Env = append(kubectltest.Env(t.TempDir()), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("navarch %s: no answer in time\n%s", strings.Join(args, " "), r.stderr)
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run navarch: %v", err)
	}
	return r
}
