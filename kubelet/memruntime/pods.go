package memruntime

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/navarch/navarch/kubelet"
)

type sandbox struct {
	status kubelet.SandboxStatus
}

// container holds only what its status needs; its state is derived from
// the times when read (observe), so nothing runs in the background.
type container struct {
	meta      kubelet.Container
	logPath   string
	behavior  Behavior
	startAt   time.Time // StartContainer was called
	runningAt time.Time // startAt + StartDelay
	finished  time.Time
	exitCode  int32
	reason    string
	message   string
}

// observe settles c's exit if its command ended by itself before now;
// the caller holds mu.
func (c *container) observe(now time.Time) {
	if c.startAt.IsZero() || !c.finished.IsZero() || !c.behavior.Exits {
		return
	}
	if end := c.runningAt.Add(c.behavior.ExitAfter); !now.Before(end) {
		c.exit(end, c.behavior.ExitCode)
	}
}

func (c *container) exit(at time.Time, code int32) {
	c.finished, c.exitCode = at, code
	c.reason = kubelet.ReasonError
	if code == 0 {
		c.reason = kubelet.ReasonCompleted
	}
}

func (c *container) state(now time.Time) kubelet.ContainerState {
	c.observe(now)
	switch {
	case !c.finished.IsZero():
		return kubelet.ContainerExited
	case c.startAt.IsZero() || now.Before(c.runningAt):
		return kubelet.ContainerCreated
	}
	return kubelet.ContainerRunning
}

func reserved(labels, annotations map[string]string) error {
	for _, m := range []map[string]string{labels, annotations} {
		for k := range m {
			if strings.HasPrefix(k, "io.navarch.") {
				return fmt.Errorf("%w: key %q uses the reserved prefix io.navarch.", kubelet.ErrInvalidConfig, k)
			}
		}
	}
	return nil
}

// RunPodSandbox allocates an IP and records the sandbox.
func (r *Runtime) RunPodSandbox(ctx context.Context, cfg kubelet.SandboxConfig) (kubelet.Sandbox, error) {
	if cfg.UID == "" || cfg.Name == "" || cfg.Namespace == "" {
		return kubelet.Sandbox{}, fmt.Errorf("%w: sandbox needs pod uid, name and namespace", kubelet.ErrInvalidConfig)
	}
	if err := reserved(cfg.Labels, cfg.Annotations); err != nil {
		return kubelet.Sandbox{}, err
	}
	if cfg.Hostname == "" {
		cfg.Hostname = cfg.Name
	}
	cfg.Labels, cfg.Annotations = maps.Clone(cfg.Labels), maps.Clone(cfg.Annotations)
	r.mu.Lock()
	defer r.mu.Unlock()
	ip, err := r.allocIP()
	if err != nil {
		return kubelet.Sandbox{}, err
	}
	sb := kubelet.Sandbox{ID: r.newID('s'), IP: ip}
	r.sandboxes[sb.ID] = &sandbox{status: kubelet.SandboxStatus{
		Sandbox: sb, Config: cfg, State: kubelet.SandboxReady, CreatedAt: r.opts.Now(),
	}}
	return sb, nil
}

// StopPodSandbox kills the sandbox's containers and releases its IP.
func (r *Runtime) StopPodSandbox(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[id]
	if !ok {
		return fmt.Errorf("sandbox %s: %w", id, kubelet.ErrNotFound)
	}
	now := r.opts.Now()
	for _, c := range r.containers {
		if c.meta.SandboxID == id && c.state(now) == kubelet.ContainerRunning {
			c.exit(now, 137)
		}
	}
	if sb.status.State == kubelet.SandboxReady {
		r.releaseIP(sb.status.IP)
		sb.status.State = kubelet.SandboxNotReady
	}
	return nil
}

// RemovePodSandbox stops and forgets the sandbox and its containers.
func (r *Runtime) RemovePodSandbox(ctx context.Context, id string) error {
	if err := r.StopPodSandbox(ctx, id); err != nil {
		return nil // unknown: nothing to remove
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for cid, c := range r.containers {
		if c.meta.SandboxID == id {
			delete(r.containers, cid)
		}
	}
	delete(r.sandboxes, id)
	return nil
}

// ListPodSandboxes returns the sandboxes matching filter.
func (r *Runtime) ListPodSandboxes(ctx context.Context, filter kubelet.SandboxFilter) ([]kubelet.SandboxStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []kubelet.SandboxStatus
	for _, sb := range r.sandboxes {
		s := sb.status
		if filter.ID != "" && s.ID != filter.ID || filter.State != "" && s.State != filter.State || !matches(s.Config.Labels, filter.Labels) {
			continue
		}
		s.Config.Labels, s.Config.Annotations = maps.Clone(s.Config.Labels), maps.Clone(s.Config.Annotations)
		out = append(out, s)
	}
	return out, nil
}

// CreateContainer records a container in a ready sandbox.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, cfg kubelet.ContainerConfig) (string, error) {
	if cfg.Name == "" || cfg.Image == "" {
		return "", fmt.Errorf("%w: container needs a name and an image", kubelet.ErrInvalidConfig)
	}
	if err := reserved(cfg.Labels, cfg.Annotations); err != nil {
		return "", err
	}
	img, err := r.EnsureImage(ctx, cfg.Image, kubelet.PullNever)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	argv := append(append([]string{}, cfg.Command...), cfg.Args...)
	b := r.behave(argv)
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[sandboxID]
	if !ok {
		return "", fmt.Errorf("create container %s: sandbox %s: %w", cfg.Name, sandboxID, kubelet.ErrNotFound)
	}
	if sb.status.State != kubelet.SandboxReady {
		return "", fmt.Errorf("create container %s: sandbox %s: %w", cfg.Name, sandboxID, kubelet.ErrSandboxNotReady)
	}
	id := r.newID('c')
	r.containers[id] = &container{
		meta: kubelet.Container{
			ID: id, SandboxID: sandboxID, Name: cfg.Name, Image: cfg.Image, ImageID: img.ID,
			State: kubelet.ContainerCreated, Attempt: cfg.Attempt, CreatedAt: r.opts.Now(),
			Labels: maps.Clone(cfg.Labels), Annotations: maps.Clone(cfg.Annotations),
		},
		logPath:  cfg.LogPath,
		behavior: b,
	}
	return id, nil
}

// StartContainer marks the container started; it runs after StartDelay.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	if !ok {
		r.mu.Unlock()
		return fmt.Errorf("container %s: %w", id, kubelet.ErrNotFound)
	}
	if !c.startAt.IsZero() {
		r.mu.Unlock()
		return fmt.Errorf("start container %s: it was already started", id)
	}
	now := r.opts.Now()
	c.startAt, c.runningAt = now, now.Add(r.opts.StartDelay)
	if msg := c.behavior.StartError; msg != "" {
		c.exit(now, 128)
		c.reason, c.message = kubelet.ReasonStartError, msg
		r.mu.Unlock()
		return fmt.Errorf("start container %s: %w: %s", id, kubelet.ErrStartFailed, msg)
	}
	logPath, output := c.logPath, c.behavior.Output
	r.mu.Unlock()
	if logPath != "" && output != "" {
		if err := appendFile(logPath, output); err != nil {
			return fmt.Errorf("start container %s: log: %w", id, err)
		}
	}
	return nil
}

// StopContainer simulates SIGTERM (exit 143) or, for commands ignoring it,
// waits the grace period and SIGKILLs (exit 137).
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	if !ok {
		r.mu.Unlock()
		return fmt.Errorf("container %s: %w", id, kubelet.ErrNotFound)
	}
	st := c.state(r.opts.Now())
	ignores := c.behavior.IgnoreSIGTERM
	r.mu.Unlock()
	if st != kubelet.ContainerRunning {
		return nil
	}
	code := int32(143)
	if ignores || grace <= 0 {
		if err := sleep(ctx, grace); err != nil {
			return err
		}
		code = 137
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.state(r.opts.Now()) == kubelet.ContainerRunning {
		c.exit(r.opts.Now(), code)
	}
	return nil
}

// RemoveContainer forgets the container.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.containers, id)
	return nil
}

// ListContainers returns the containers matching filter.
func (r *Runtime) ListContainers(ctx context.Context, filter kubelet.ContainerFilter) ([]kubelet.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	var out []kubelet.Container
	for _, c := range r.containers {
		m := c.meta
		m.State = c.state(now)
		if filter.ID != "" && m.ID != filter.ID || filter.SandboxID != "" && m.SandboxID != filter.SandboxID ||
			filter.State != "" && m.State != filter.State || !matches(m.Labels, filter.Labels) {
			continue
		}
		m.Labels, m.Annotations = maps.Clone(m.Labels), maps.Clone(m.Annotations)
		out = append(out, m)
	}
	return out, nil
}

// ContainerStatus returns the container's derived status.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (kubelet.ContainerStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return kubelet.ContainerStatus{}, fmt.Errorf("container %s: %w", id, kubelet.ErrNotFound)
	}
	s := kubelet.ContainerStatus{Container: c.meta, LogPath: c.logPath}
	s.State = c.state(r.opts.Now())
	s.Labels, s.Annotations = maps.Clone(s.Labels), maps.Clone(s.Annotations)
	switch s.State {
	case kubelet.ContainerRunning:
		s.StartedAt, s.Pid = c.runningAt, 1
	case kubelet.ContainerExited:
		s.StartedAt, s.FinishedAt = c.runningAt, c.finished
		s.ExitCode, s.Reason, s.Message = c.exitCode, c.reason, c.message
	}
	return s, nil
}

// ExecSync returns what Behave says the command does, after its run time.
func (r *Runtime) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (kubelet.ExecResult, error) {
	if len(cmd) == 0 {
		return kubelet.ExecResult{}, fmt.Errorf("%w: exec needs a command", kubelet.ErrInvalidConfig)
	}
	r.mu.Lock()
	c, ok := r.containers[id]
	running := ok && c.state(r.opts.Now()) == kubelet.ContainerRunning
	r.mu.Unlock()
	if !ok {
		return kubelet.ExecResult{}, fmt.Errorf("container %s: %w", id, kubelet.ErrNotFound)
	}
	if !running {
		return kubelet.ExecResult{}, fmt.Errorf("exec in %s: %w", id, kubelet.ErrNotRunning)
	}
	b := Behavior{Exits: true}
	if r.opts.Behave != nil {
		b = r.opts.Behave(cmd)
	}
	if !b.Exits || (timeout > 0 && b.ExitAfter > timeout) {
		if timeout <= 0 {
			<-ctx.Done()
			return kubelet.ExecResult{}, ctx.Err()
		}
		if err := sleep(ctx, timeout); err != nil {
			return kubelet.ExecResult{}, err
		}
		return kubelet.ExecResult{ExitCode: -1}, fmt.Errorf("exec %q in %s after %s: %w", cmd[0], id, timeout, kubelet.ErrExecTimeout)
	}
	if err := sleep(ctx, b.ExitAfter); err != nil {
		return kubelet.ExecResult{}, err
	}
	out := []byte(b.Output)
	if len(out) > kubelet.MaxExecOutput {
		out = out[:kubelet.MaxExecOutput]
	}
	return kubelet.ExecResult{ExitCode: b.ExitCode, Output: out}, nil
}

func matches(labels, selector map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func appendFile(path, s string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
