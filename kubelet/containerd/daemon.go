package containerd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DaemonOptions configure a private containerd daemon.
type DaemonOptions struct {
	// Binary is the containerd executable; default "containerd" on PATH.
	Binary string
	// Dir holds everything of the daemon: root/, state/, config.toml,
	// containerd.log and the socket. Required.
	Dir string
	// Output receives the daemon's log; default Dir/containerd.log.
	Output io.Writer
	// StartTimeout bounds the wait for the socket; default 30s.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL;
	// default 10s.
	StopTimeout time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

func (o *DaemonOptions) defaults() {
	if o.Binary == "" {
		o.Binary = "containerd"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Validate reports what is wrong with the options.
func (o DaemonOptions) Validate() error {
	if o.Dir == "" {
		return errors.New("containerd daemon: Dir is required")
	}
	if !filepath.IsAbs(o.Dir) {
		return fmt.Errorf("containerd daemon: Dir %q must be absolute", o.Dir)
	}
	if strings.ContainsAny(o.Dir, ",:") {
		// overlayfs mount options are separated by them
		return fmt.Errorf("containerd daemon: Dir %q must not contain ',' or ':'", o.Dir)
	}
	return nil
}

// maxSocketPath keeps the socket (plus containerd's ".ttrpc" suffix) under
// the kernel's 108-byte limit for unix socket paths.
const maxSocketPath = 100

// Daemon is a containerd process started by StartDaemon.
type Daemon struct {
	address  string
	pid      int
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
	opts     DaemonOptions
	cleanup  func()
}

// StartDaemon writes a config for a containerd daemon whose root, state and
// socket live under opts.Dir (the CRI plugin and unused snapshotters
// disabled), starts it as a child process and returns once its socket
// accepts connections. Stop it with Stop; it also gets SIGTERM when the
// calling process dies.
func StartDaemon(ctx context.Context, opts DaemonOptions) (*Daemon, error) {
	opts.defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	bin, err := exec.LookPath(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("containerd daemon: %w", err)
	}
	d := &Daemon{done: make(chan struct{}), opts: opts, cleanup: func() {}}
	for _, sub := range []string{"root", "state"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, sub), 0o711); err != nil {
			return nil, fmt.Errorf("containerd daemon: %w", err)
		}
	}
	d.address = DaemonAddress(opts.Dir)
	if short := filepath.Dir(d.address); short != filepath.Clean(opts.Dir) {
		if err := os.MkdirAll(short, 0o700); err != nil {
			return nil, fmt.Errorf("containerd daemon: %w", err)
		}
		d.cleanup = func() { os.RemoveAll(short) }
	}
	config := filepath.Join(opts.Dir, "config.toml")
	if err := os.WriteFile(config, []byte(daemonConfig(opts.Dir, d.address)), 0o600); err != nil {
		return nil, fmt.Errorf("containerd daemon: write config: %w", err)
	}
	out := opts.Output
	if out == nil {
		f, err := os.OpenFile(filepath.Join(opts.Dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("containerd daemon: %w", err)
		}
		out = f
		prev := d.cleanup
		d.cleanup = func() { f.Close(); prev() }
	}
	if err := d.start(bin, config, out); err != nil {
		d.cleanup()
		return nil, err
	}
	if err := d.waitReady(ctx); err != nil {
		d.Stop()
		return nil, err
	}
	opts.Logger.Info("containerd started", "pid", d.pid, "address", d.address)
	return d, nil
}

// start runs the child from a goroutine locked to its OS thread for the
// child's whole life: Pdeathsig fires when the forking thread exits, and Go
// retires threads whose locked goroutine ends (as network namespace code
// does), so an unlocked fork could take the daemon down at random.
func (d *Daemon) start(bin, config string, out io.Writer) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(bin, "--config", config)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("containerd daemon: start %s: %w", bin, err)
			close(d.done)
			return
		}
		d.pid = cmd.Process.Pid
		started <- nil
		d.waitErr = cmd.Wait()
		close(d.done)
	}()
	return <-started
}

func (d *Daemon) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.StartTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.Dial("unix", d.address); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-d.done:
			return fmt.Errorf("containerd daemon exited before serving (%v); see %s", d.waitErr, filepath.Join(d.opts.Dir, "containerd.log"))
		case <-ctx.Done():
			return fmt.Errorf("containerd daemon: socket %s not ready: %w", d.address, ctx.Err())
		case <-tick.C:
		}
	}
}

// DaemonAddress is the socket of a daemon started on dir: dir/containerd.sock,
// or, when that path is too long for a unix socket, a short path under the
// temporary folder derived from dir (the same for every start on dir).
// Tools find a node's private containerd with it.
func DaemonAddress(dir string) string {
	address := filepath.Join(dir, "containerd.sock")
	if len(address) <= maxSocketPath {
		return address
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "nvctd-"+hex.EncodeToString(sum[:6]), "c.sock")
}

// Address is the daemon's gRPC socket path.
func (d *Daemon) Address() string { return d.address }

// Pid is the daemon's process id.
func (d *Daemon) Pid() int { return d.pid }

// Done is closed when the daemon process has exited.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// Stop sends SIGTERM to the daemon (by its PID), waits up to StopTimeout,
// then SIGKILLs it. Containers keep running in their shims; a daemon started
// later on the same Dir finds them again. Stop is idempotent.
func (d *Daemon) Stop() error {
	d.stopOnce.Do(func() {
		defer d.cleanup()
		select {
		case <-d.done:
			return
		default:
		}
		if err := syscall.Kill(d.pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			d.stopErr = fmt.Errorf("containerd daemon: signal %d: %w", d.pid, err)
		}
		select {
		case <-d.done:
		case <-time.After(d.opts.StopTimeout):
			syscall.Kill(d.pid, syscall.SIGKILL)
			<-d.done
		}
		d.opts.Logger.Info("containerd stopped", "pid", d.pid)
	})
	return d.stopErr
}

// daemonConfig is a containerd 1.6+ (config version 2) file keeping every
// path under dir.
func daemonConfig(dir, address string) string {
	disabled := []string{
		"io.containerd.grpc.v1.cri",
		"io.containerd.snapshotter.v1.aufs",
		"io.containerd.snapshotter.v1.btrfs",
		"io.containerd.snapshotter.v1.devmapper",
		"io.containerd.snapshotter.v1.zfs",
		"io.containerd.tracing.processor.v1.otlp",
		"io.containerd.internal.v1.tracing",
	}
	quoted := make([]string, len(disabled))
	for i, p := range disabled {
		quoted[i] = fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = [%s]

[grpc]
  address = %q

[debug]
  level = "warn"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), strings.Join(quoted, ", "), address, filepath.Join(dir, "opt"))
}
