package kubectltest

import (
	"os"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestTheBuiltKubectlIsKubernetesOwn(t *testing.T) {
	k := New(t, WriteKubeconfig(t, &rest.Config{Host: "https://127.0.0.1:1"}))
	out := k.MustRun(t, "version", "--client", "-o", "yaml")
	if !strings.Contains(out, "gitVersion:") || !strings.Contains(out, "clientVersion:") {
		t.Errorf("got %q, want kubectl's client version document", out)
	}
	if again := New(t, k.Kubeconfig); again.Path != k.Path {
		t.Errorf("got a second build at %s, want the cached %s", again.Path, k.Path)
	}
}

func TestAFailingCommandReportsItsExitCodeAndStderr(t *testing.T) {
	k := New(t, WriteKubeconfig(t, &rest.Config{Host: "https://127.0.0.1:1", BearerToken: "x"}))
	k.Timeout = DefaultTimeout
	r := k.Run(t, "get", "namespaces", "--request-timeout=5s")
	if r.ExitCode == 0 {
		t.Fatalf("got exit 0 from a server that does not exist, want non-zero\n%s", r)
	}
	if !strings.Contains(r.Stderr, "127.0.0.1:1") {
		t.Errorf("got stderr %q, want it to name the server", r.Stderr)
	}
}
