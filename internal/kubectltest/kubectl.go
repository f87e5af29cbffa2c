package kubectltest

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

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultTimeout bounds one kubectl run unless Kubectl.Timeout says otherwise.
const DefaultTimeout = 2 * time.Minute

// Kubectl is a kubectl executable bound to one kubeconfig.
type Kubectl struct {
	// Path is the executable.
	Path string
	// Kubeconfig is passed as --kubeconfig to every run.
	Kubeconfig string
	// Home is kubectl's HOME: its discovery cache and kuberc live there.
	Home string
	// Timeout bounds one run; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Result is what one run printed and how it ended.
type Result struct {
	Args     []string
	Stdout   string
	Stderr   string
	ExitCode int
}

// String describes the run for a test failure message.
func (r Result) String() string {
	return fmt.Sprintf("kubectl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.Args, " "), r.ExitCode, r.Stdout, r.Stderr)
}

// New builds the real kubectl (once per test binary) and binds it to
// kubeconfig, with a fresh HOME for this test.
func New(t testing.TB, kubeconfig string) *Kubectl {
	t.Helper()
	return &Kubectl{Path: Build(t, KubectlPackage), Kubeconfig: kubeconfig, Home: t.TempDir()}
}

// Run runs kubectl with args and --kubeconfig; it fails the test only when
// kubectl cannot be started or outlives its timeout. A non-zero exit is
// reported in Result.ExitCode for the test to judge.
func (k *Kubectl) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return k.RunWithInput(t, "", args...)
}

// RunWithInput is Run with stdin as kubectl's standard input (for -f -).
func (k *Kubectl) RunWithInput(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	r, err := k.exec(stdin, args)
	if err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	return r
}

// MustRun is Run that fails the test unless kubectl exits 0; it returns
// standard output.
func (k *Kubectl) MustRun(t testing.TB, args ...string) string {
	t.Helper()
	r := k.Run(t, args...)
	if r.ExitCode != 0 {
		t.Fatalf("got exit %d, want 0\n%s", r.ExitCode, r)
	}
	return r.Stdout
}

func (k *Kubectl) exec(stdin string, args []string) (Result, error) {
	timeout := k.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	full := append([]string{"--kubeconfig=" + k.Kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, k.Path, full...)
	cmd.Env = Env(k.Home)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("kubectl %s: no answer within %s", strings.Join(args, " "), timeout)
	case errors.As(err, &exit):
		r.ExitCode = exit.ExitCode()
	case err != nil:
		return r, fmt.Errorf("run kubectl: %w", err)
	}
	return r, nil
}

// Env returns the environment for a client process under test: this
// process's environment without KUBECONFIG and NAVARCH_ variables, with
// HOME set to home, so the machine's own client settings stay out.
func Env(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "HOME=") ||
			strings.HasPrefix(kv, "NAVARCH_") || strings.HasPrefix(kv, "KUBECACHEDIR=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

// WriteKubeconfig writes a kubeconfig for cfg (server, CA, bearer token or
// client certificate) into a temp dir of t and returns its path.
func WriteKubeconfig(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["navarch"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthority:     cfg.TLSClientConfig.CAFile,
		CertificateAuthorityData: cfg.TLSClientConfig.CAData,
		InsecureSkipTLSVerify:    cfg.TLSClientConfig.Insecure,
	}
	kc.AuthInfos["navarch"] = &clientcmdapi.AuthInfo{
		Token:                 cfg.BearerToken,
		TokenFile:             cfg.BearerTokenFile,
		ClientCertificate:     cfg.TLSClientConfig.CertFile,
		ClientCertificateData: cfg.TLSClientConfig.CertData,
		ClientKey:             cfg.TLSClientConfig.KeyFile,
		ClientKeyData:         cfg.TLSClientConfig.KeyData,
	}
	kc.Contexts["navarch"] = &clientcmdapi.Context{Cluster: "navarch", AuthInfo: "navarch", Namespace: "default"}
	kc.CurrentContext = "navarch"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}
