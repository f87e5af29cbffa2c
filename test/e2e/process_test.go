package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// process is a long-running child (the quickstart, navarch up, navarch
// agent, a watch), its output in a log file under the test's data dir.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}

	mu  sync.Mutex
	err error // from Wait, once done is closed
}

// startProcess starts argv in its own process group with env, its stdout
// and stderr appended to logDir/<name>.log. It is stopped by stop, and
// when the test ends if it still runs.
func startProcess(t testing.TB, name, logDir string, env []string, argv ...string) *process {
	t.Helper()
	logPath := filepath.Join(logDir, name+".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	p := &process{name: name, logPath: logPath, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = out, out
	// Its own group: a signal meant for the test does not reach it, and
	// stop can end the group's stragglers (a script's children) by its id.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Logf("start %s: %s", name, strings.Join(argv, " "))
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t, 30*time.Second) })
	return p
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.err
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the process and waits up to grace for it to end,
// then kills what is left of its process group. It is idempotent.
func (p *process) stop(t testing.TB, grace time.Duration) {
	t.Helper()
	if done, _ := p.exited(); done {
		p.killGroup()
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		t.Errorf("%s did not stop within %s of SIGTERM; killing it", p.name, grace)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.killGroup()
}

// killGroup kills the processes left in the group the process led (by
// the group's id, which is the process's own PID).
func (p *process) killGroup() {
	if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		fmt.Fprintf(os.Stderr, "kill process group of %s: %v\n", p.name, err)
	}
}

// log returns the process's output so far.
func (p *process) log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// tail returns the last n lines of the process's output.
func (p *process) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.log(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

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
