package kubectltest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// KubectlPackage is the main package of the real kubectl.
const KubectlPackage = "github.com/navarch/navarch/internal/cmd/kubectl"

// cache holds the executables built by this test binary; Main removes them.
// It is the package's one piece of shared state, because a build costs
// tens of seconds and every test of a package wants the same executable.
var cache struct {
	mu     sync.Mutex
	dir    string
	builds map[string]*build
}

// startEnv is the environment this test binary started with. Builds run in
// it, so that a test's t.Setenv (of HOME, say) cannot send the go command to
// another module or build cache.
var startEnv = os.Environ()

type build struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the main package pkg (an import path in this module's
// build list) with CGO_ENABLED=0 the first time it is asked for in this
// test binary, and returns the executable's path; later calls return the
// same path at once. ldflags, when given, are passed to the linker. A
// failed build fails the test with the compiler's output.
func Build(t testing.TB, pkg string, ldflags ...string) string {
	t.Helper()
	cache.mu.Lock()
	if cache.builds == nil {
		cache.builds = map[string]*build{}
	}
	key := pkg + " " + strings.Join(ldflags, " ")
	b, ok := cache.builds[key]
	if !ok {
		b = &build{}
		cache.builds[key] = b
	}
	cache.mu.Unlock()
	b.once.Do(func() { b.path, b.err = compile(pkg, ldflags) })
	if b.err != nil {
		t.Fatalf("build %s: %v", pkg, b.err)
	}
	return b.path
}

// Main runs the tests of m and then removes every executable Build made.
// It returns m.Run's exit code.
func Main(m *testing.M) int {
	code := m.Run()
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if cache.dir != "" {
		os.RemoveAll(cache.dir)
		cache.dir = ""
	}
	return code
}

func compile(pkg string, ldflags []string) (string, error) {
	goBin, err := goTool()
	if err != nil {
		return "", err
	}
	dir, err := buildDir()
	if err != nil {
		return "", err
	}
	out, err := os.MkdirTemp(dir, "bin-")
	if err != nil {
		return "", err
	}
	exe := filepath.Join(out, path.Base(pkg))
	args := []string{"build", "-trimpath", "-o", exe}
	if len(ldflags) > 0 {
		args = append(args, "-ldflags", strings.Join(ldflags, " "))
	}
	cmd := exec.Command(goBin, append(args, pkg)...)
	cmd.Env = append(append([]string{}, startEnv...), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(cmd.Args[1:], " "), err, stderr.String())
	}
	return exe, nil
}

// buildDir returns the directory that holds this test binary's builds,
// making it on first use. The caller holds no lock.
func buildDir() (string, error) {
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if cache.dir == "" {
		d, err := os.MkdirTemp("", "navarch-testbin-")
		if err != nil {
			return "", fmt.Errorf("make build dir: %w", err)
		}
		cache.dir = d
	}
	return cache.dir, nil
}

// goTool finds the go command: on PATH, else in the GOROOT this test
// binary was built with.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no go command on PATH or in GOROOT: %w", err)
	}
	return p, nil
}
