package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/navarch/navarch/apiserver"
	"github.com/navarch/navarch/config"
)

// runInProcess runs the navarch command tree in this process, for commands
// that never reach kubectl's exit-on-error path.
func runInProcess(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", "")
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "NAVARCH_") {
			t.Setenv(k, "")
		}
	}
	var out, errOut bytes.Buffer
	code = execute(args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestVersionPrintsTheLinkedVersion(t *testing.T) {
	out, _, code := runInProcess(t, "version")
	if code != 0 || !strings.HasPrefix(out, "navarch dev (go") {
		t.Errorf("got %q (exit %d), want navarch dev (go…)", out, code)
	}
	r := runNavarch(t, "", nil, "version")
	if !strings.HasPrefix(r.stdout, "navarch "+testVersion+" ") {
		t.Errorf("built binary: got %q, want the version set by -ldflags", r.stdout)
	}
}

func TestCompletionScriptsForEachShell(t *testing.T) {
	tests := []struct{ shell, want string }{
		{"bash", "__start_navarch"},
		{"zsh", "#compdef navarch"},
		{"fish", "complete -c navarch"},
	}
	for _, tt := range tests {
		out, _, code := runInProcess(t, "completion", tt.shell)
		if code != 0 || !strings.Contains(out, tt.want) {
			t.Errorf("%s: got exit %d and no %q in the script", tt.shell, code, tt.want)
		}
	}
	if _, errOut, code := runInProcess(t, "completion", "tcsh"); code == 0 || !strings.Contains(errOut, "tcsh") {
		t.Errorf("tcsh: got exit %d, stderr %q; want a refusal", code, errOut)
	}
}

func TestHelpListsTheCommands(t *testing.T) {
	out, _, code := runInProcess(t, "--help")
	if code != 0 {
		t.Fatalf("got exit %d", code)
	}
	for _, c := range []string{"up", "server", "get", "apply", "delete", "describe", "version", "completion"} {
		if !strings.Contains(out, "\n  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, out)
		}
	}
}

func TestClientWithoutAKubeconfigSaysHowToGetOne(t *testing.T) {
	dataDir := t.TempDir()
	_, errOut, code := runInProcess(t, "get", "pods", "--data-dir", dataDir)
	if code == 0 {
		t.Fatal("got exit 0, want a failure")
	}
	if want := filepath.Join(dataDir, "kubeconfig"); !strings.Contains(errOut, want) || !strings.Contains(errOut, "navarch up") {
		t.Errorf("got %q, want it to name %s and navarch up", errOut, want)
	}
}

func TestServerRefusesABadConfigFileBeforeStarting(t *testing.T) {
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "config.yaml"), []byte("server: {prot: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runInProcess(t, "server", "--data-dir", dataDir)
	if code == 0 || !strings.Contains(errOut, "prot") {
		t.Errorf("got exit %d, stderr %q; want a refusal naming the key", code, errOut)
	}
}

func TestKubeconfigResolution(t *testing.T) {
	tests := []struct {
		name, flag, env, dataDir, want string
	}{
		{"the flag wins", "/a", "/b", "/c", "/a"},
		{"then KUBECONFIG, read by client-go", "", "/b:/b2", "/c", ""},
		{"then the data dir", "", "", "/c", "/c"},
	}
	for _, tt := range tests {
		if got := kubeconfigPath(tt.flag, tt.env, tt.dataDir); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestClientsLookWhereTheServerWritesTheKubeconfig(t *testing.T) {
	cfg := &config.Config{DataDir: "/var/lib/navarch"}
	if got, want := cfg.KubeconfigPath(), filepath.Join(cfg.DataDir, apiserver.KubeconfigFile); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", s, err)
	}
	return n
}
