package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// run runs a short command to completion and returns its combined output.
func run(env []string, dir string, timeout time.Duration, argv ...string) (string, error) {
	var out bytes.Buffer
	return runTo(&out, &out, env, dir, timeout, argv...)
}

// runTo runs a short command to completion with its stdout and stderr
// into the given buffers, and returns its stdout.
func runTo(stdout, stderr *bytes.Buffer, env []string, dir string, timeout time.Duration, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, dir
	out := stdout
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil && stderr != stdout {
			return out.String(), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, stderr)
		}
		if err != nil {
			return out.String(), fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
		}
		return out.String(), nil
	case <-time.After(timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return out.String(), fmt.Errorf("%s: still running after %s", strings.Join(argv, " "), timeout)
	}
}
