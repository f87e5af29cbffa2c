package proctest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options say how Start runs a program.
type Options struct {
	// Env is the child's whole environment; nil inherits the test's.
	Env []string
	// Dir is the working directory; "" is the test's.
	Dir string
	// LogPath is the file the child's stdout and stderr are appended to;
	// "" means <name>.log in a directory of the test's own.
	LogPath string
	// Group starts the child in a process group of its own, which Stop
	// and Kill end as a whole.
	Group bool
	// CleanupGrace is how long the test's cleanup lets a still running
	// child stop after SIGTERM before it kills it; 0 kills it at once.
	CleanupGrace time.Duration
}

// Process is a child started by Start.
type Process struct {
	// Name names the process in messages.
	Name string
	// Cmd is the started command; Cmd.Process.Pid is its PID.
	Cmd *exec.Cmd
	// LogPath holds what it printed.
	LogPath string

	group bool
	done  chan struct{}

	mu  sync.Mutex
	err error // from Wait, once done is closed
}

// Start starts argv as name and returns once it runs. It fails the test
// when the program cannot start. When the test ends the process is
// stopped (see Options.CleanupGrace) if it still runs.
func Start(tb testing.TB, name string, opts Options, argv ...string) *Process {
	tb.Helper()
	logPath := opts.LogPath
	if logPath == "" {
		logPath = filepath.Join(tb.TempDir(), name+".log")
	}
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatalf("open the log of %s: %v", name, err)
	}
	defer out.Close()
	p := &Process{Name: name, LogPath: logPath, group: opts.Group, done: make(chan struct{})}
	p.Cmd = exec.Command(argv[0], argv[1:]...)
	p.Cmd.Env, p.Cmd.Dir = opts.Env, opts.Dir
	p.Cmd.Stdout, p.Cmd.Stderr = out, out
	if opts.Group {
		p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := p.Cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		err := p.Cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	tb.Cleanup(func() {
		if opts.CleanupGrace <= 0 {
			p.Kill()
			return
		}
		if err := p.Stop(opts.CleanupGrace); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return p
}

// PID is the process's id.
func (p *Process) PID() int { return p.Cmd.Process.Pid }

// Done is closed once the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process ended (Wait's error); nil while it runs or when
// it exited 0.
func (p *Process) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.Err()
	default:
		return false, nil
	}
}

// ExitCode is the process's exit code once it has ended, -1 before (or
// when a signal ended it).
func (p *Process) ExitCode() int {
	if done, _ := p.Exited(); !done {
		return -1
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Stop sends SIGTERM and waits up to grace for the process to end, then
// kills it; with Options.Group it then kills what is left of the group.
// It fails when the process had to be killed. It is idempotent.
func (p *Process) Stop(grace time.Duration) error {
	defer p.killGroup()
	if done, _ := p.Exited(); done {
		return nil
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		_ = p.Cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM; killed it", p.Name, grace)
	}
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it
// (and, with Options.Group, kills the rest of its group). It is idempotent.
func (p *Process) Kill() {
	defer p.killGroup()
	if done, _ := p.Exited(); done {
		return
	}
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// killGroup kills the processes left in the group the process led (by
// the group's id, which is the process's own PID).
func (p *Process) killGroup() {
	if !p.group {
		return
	}
	if err := syscall.Kill(-p.PID(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		fmt.Fprintf(os.Stderr, "kill process group of %s: %v\n", p.Name, err)
	}
}

// Log returns what the process printed so far.
func (p *Process) Log() string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// Tail returns the last n lines the process printed.
func (p *Process) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago, for
// a child to listen on.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
