package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/navarch/navarch/kubelet"
)

// ioDrainTimeout bounds the wait for an exec's output after it exited.
const ioDrainTimeout = 2 * time.Second

var _ kubelet.StreamExecer = (*Runtime)(nil)

// ExecSync runs cmd in the container with the container's environment,
// user and working directory, and returns its exit code and output.
func (r *Runtime) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (kubelet.ExecResult, error) {
	out := &cappedBuffer{max: kubelet.MaxExecOutput}
	code, err := r.exec(ctx, id, cmd, kubelet.ExecStreams{Stdout: out, Stderr: out}, timeout)
	switch {
	case errors.Is(err, kubelet.ErrExecTimeout):
		return kubelet.ExecResult{ExitCode: -1, Output: out.Bytes()}, err
	case err != nil:
		return kubelet.ExecResult{}, err
	}
	return kubelet.ExecResult{ExitCode: code, Output: out.Bytes()}, nil
}

// Exec runs cmd in the container with the container's environment, user
// and working directory and with streams attached, and returns its exit
// code once it exited and its output is drained.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string, streams kubelet.ExecStreams) (int32, error) {
	return r.exec(ctx, id, cmd, streams, 0)
}

// exec is Exec and ExecSync: a timeout > 0 kills the command that long
// after it started, with an error wrapping kubelet.ErrExecTimeout.
func (r *Runtime) exec(ctx context.Context, id string, cmd []string, streams kubelet.ExecStreams, timeout time.Duration) (int32, error) {
	ctx = r.ns(ctx)
	if len(cmd) == 0 {
		return 0, fmt.Errorf("%w: exec needs a command", kubelet.ErrInvalidConfig)
	}
	if _, err := r.getRecord(ctx, id, kindContainer); err != nil {
		return 0, err
	}
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return 0, mapErr(err)
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return 0, fmt.Errorf("exec in %s: %w", id, kubelet.ErrNotRunning)
	}
	if err != nil {
		return 0, mapErr(err)
	}
	if st, err := task.Status(ctx); err != nil || st.Status != containerd.Running {
		return 0, fmt.Errorf("exec in %s: %w", id, kubelet.ErrNotRunning)
	}
	spec, err := c.Spec(ctx)
	if err != nil {
		return 0, mapErr(err)
	}
	pspec := *spec.Process
	pspec.Args, pspec.Terminal = cmd, streams.TTY
	stdout, stderr := orDiscard(streams.Stdout), orDiscard(streams.Stderr)
	var stdin io.Reader
	stdinDone := make(chan struct{})
	if streams.Stdin != nil {
		stdin = &endNotifier{r: streams.Stdin, done: stdinDone}
	}
	opts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr), cio.WithFIFODir(filepath.Join(r.opts.StateDir, "fifo"))}
	if streams.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	proc, err := task.Exec(ctx, "exec-"+newID()[:16], &pspec, cio.NewCreator(opts...))
	if err != nil {
		return 0, fmt.Errorf("exec in %s: %w", id, mapErr(err))
	}
	defer proc.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
	exited, err := proc.Wait(ctx)
	if err != nil {
		return 0, mapErr(err)
	}
	if err := proc.Start(ctx); err != nil {
		return 0, fmt.Errorf("exec %q in %s: %w", cmd[0], id, mapErr(err))
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	if stdin != nil {
		// The shim holds the stdin FIFO open for writing too: the process
		// sees the end of its input once the shim lets go of it.
		go func() {
			select {
			case <-stdinDone:
				proc.CloseIO(rctx, containerd.WithStdinCloser)
			case <-rctx.Done():
			}
		}()
	}
	if streams.TTY && streams.Resize != nil {
		go func() {
			for {
				select {
				case size, ok := <-streams.Resize:
					if !ok {
						return
					}
					proc.Resize(rctx, uint32(size.Width), uint32(size.Height))
				case <-rctx.Done():
					return
				}
			}
		}()
	}
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	var code uint32
	select {
	case st := <-exited:
		code = st.ExitCode()
	case <-deadline:
		proc.Kill(context.WithoutCancel(ctx), syscall.SIGKILL)
		return -1, fmt.Errorf("exec %q in %s after %s: %w", cmd[0], id, timeout, kubelet.ErrExecTimeout)
	case <-ctx.Done():
		proc.Kill(context.WithoutCancel(ctx), syscall.SIGKILL)
		return 0, ctx.Err()
	}
	drained := make(chan struct{})
	go func() { proc.IO().Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(ioDrainTimeout):
	}
	return int32(code), nil
}

// cappedBuffer collects interleaved stdout and stderr up to max bytes. It
// is safe for the two copy goroutines and deliberately has no ReadFrom, so
// io.Copy writes through Write under the lock.
type cappedBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *cappedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...)
}

// endNotifier closes done when reading r first fails (its end).
type endNotifier struct {
	r    io.Reader
	done chan struct{}
	once sync.Once
}

func (e *endNotifier) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(func() { close(e.done) })
	}
	return n, err
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
