package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/api/types/runc/options"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/navarch/navarch/kubelet"
)

// runcShim is the containerd shim every container runs under.
const runcShim = "io.containerd.runc.v2"

// CreateContainer creates a container record with its snapshot and spec.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, cfg kubelet.ContainerConfig) (string, error) {
	ctx = r.ns(ctx)
	if cfg.Name == "" || cfg.Image == "" {
		return "", fmt.Errorf("%w: container needs a name and an image", kubelet.ErrInvalidConfig)
	}
	if err := checkUserKeys(cfg.Labels, cfg.Annotations); err != nil {
		return "", err
	}
	rec, err := r.getRecord(ctx, sandboxID, kindSandbox)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	sb := sandboxStatus(rec)
	if sb.State != kubelet.SandboxReady {
		return "", fmt.Errorf("create container %s: sandbox %s: %w", cfg.Name, sandboxID, kubelet.ErrSandboxNotReady)
	}
	img, err := r.EnsureImage(ctx, cfg.Image, kubelet.PullNever)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, err)
	}
	cimg, err := r.client.GetImage(ctx, img.Ref)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", cfg.Name, mapErr(err))
	}
	id := newID()
	labels := map[string]string{
		labelKind: kindContainer, labelSandbox: sandboxID, labelName: cfg.Name,
		labelAttempt: attemptString(cfg.Attempt), labelImage: cfg.Image, labelImageID: img.ID,
		labelLogPath: cfg.LogPath, labelCgroup: r.containerCgroup(sandboxID, id),
		labelPodUID: sb.Config.UID, labelPodName: sb.Config.Name, labelPodNamespace: sb.Config.Namespace,
	}
	userLabels(labels, cfg.Labels, cfg.Annotations)
	_, err = r.client.NewContainer(ctx, id,
		containerd.WithSnapshotter(r.snap),
		containerd.WithNewSnapshot(id, cimg),
		containerd.WithImageName(img.Ref),
		containerd.WithRuntime(runcShim, &options.Options{Root: filepath.Join(r.opts.StateDir, "runc")}),
		containerd.WithNewSpec(r.specOpts(cimg, sb, id, cfg)...),
		containerd.WithContainerLabels(labels),
	)
	if err != nil {
		// NewContainer leaves the snapshot behind when the spec fails.
		r.client.SnapshotService(r.snap).Remove(ctx, id)
		return "", fmt.Errorf("create container %s: %w", cfg.Name, mapErr(err))
	}
	return id, nil
}

// StartContainer creates the container's task (its process) and starts it,
// with stdout and stderr appended to the log file (logFile).
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	unlock := r.locks.lock(id)
	defer unlock()
	rec, err := r.getRecord(ctx, id, kindContainer)
	if err != nil {
		return err
	}
	if rec.Labels[labelStartedAt] != "" || rec.Labels[labelFinishedAt] != "" {
		return fmt.Errorf("start container %s: it was already started", id)
	}
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return mapErr(err)
	}
	creator := cio.NullIO
	if p := rec.Labels[labelLogPath]; p != "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("start container %s: log dir: %w", id, err)
		}
		creator = logFile(p)
	}
	task, err := c.NewTask(ctx, creator)
	if err == nil {
		// Recorded before Start so a running container always has it.
		err = r.setLabels(ctx, id, map[string]string{labelStartedAt: formatTime(time.Now())})
		if err == nil {
			err = task.Start(ctx)
		}
		if err != nil {
			task.Delete(context.WithoutCancel(ctx), containerd.WithProcessKill)
		}
	}
	if err != nil {
		r.recordStartError(context.WithoutCancel(ctx), id, err)
		return fmt.Errorf("start container %s: %w: %s", id, kubelet.ErrStartFailed, mapErr(err))
	}
	return nil
}

func (r *Runtime) recordStartError(ctx context.Context, id string, cause error) {
	now := formatTime(time.Now())
	err := r.setLabels(ctx, id, map[string]string{
		labelStartedAt: now, labelFinishedAt: now, labelExitCode: "128",
		labelReason: kubelet.ReasonStartError, labelMessage: truncate(cause.Error(), maxMessage),
	})
	if err != nil {
		r.opts.Logger.Warn("record start error", "container", id, "err", err)
	}
}

// StopContainer sends SIGTERM, then SIGKILL after grace, and records the
// exit.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	ctx = r.ns(ctx)
	unlock := r.locks.lock(id)
	defer unlock()
	if _, err := r.getRecord(ctx, id, kindContainer); err != nil {
		return err
	}
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return mapErr(err)
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil // created, or exited and already recorded
	}
	if err != nil {
		return mapErr(err)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return mapErr(err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return mapErr(err)
	}
	if st.Status == containerd.Running || st.Status == containerd.Paused {
		if grace > 0 {
			if err := task.Kill(ctx, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
				return fmt.Errorf("stop container %s: %w", id, mapErr(err))
			}
			select {
			case <-exited:
			case <-time.After(grace):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := task.Kill(ctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("stop container %s: %w", id, mapErr(err))
		}
		select {
		case <-exited:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return r.finalizeTask(ctx, id, task)
}

// RemoveContainer kills the container's process if any and deletes the
// container with its snapshot.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	if err := r.StopContainer(ctx, id, 0); err != nil {
		if errors.Is(err, kubelet.ErrNotFound) {
			return nil
		}
		return err
	}
	unlock := r.locks.lock(id)
	defer unlock()
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return mapErr(err)
	}
	if task, err := c.Task(ctx, nil); err == nil {
		task.Delete(ctx, containerd.WithProcessKill)
	}
	if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove container %s: %w", id, mapErr(err))
	}
	return nil
}

// logShell runs logFile's driver.
const logShell = "/bin/sh"

// logFile has the container's stdout and stderr appended to the file at
// path by a log driver the shim starts beside the container (containerd's
// binary log URI): a shell whose two cat processes each append one stream
// (the shim's file descriptors 3 and 4) to the file until it ends. The
// driver outlives a kubelet restart, as the shim does. containerd 1.6's
// shim, writing the file itself (cio.LogFile), closes it when stdout ends
// and so can drop what stderr had still to write: the last words of a
// process that prints an error and exits at once. Without a shell the
// shim writes the file.
func logFile(path string) cio.Creator {
	if _, err := os.Stat(logShell); err != nil {
		return cio.LogFile(path)
	}
	q := shellQuote(path)
	// Ready is one byte on descriptor 5, then its end; TERM (the shim's,
	// when the task is deleted) waits for the streams' ends instead.
	script := "trap '' TERM; printf '\\0' >&5; exec 5>&-; cat <&3 >>" + q + " & cat <&4 >>" + q + " & wait"
	return cio.BinaryIO(logShell, map[string]string{"-c": script})
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
