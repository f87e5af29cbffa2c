package containerd

import (
	"context"
	"fmt"
	"strconv"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"

	"github.com/navarch/navarch/kubelet"
)

// An exited container's task is deleted once its exit is recorded in
// labels (exit code, finish time, reason), so no shim lingers for it.
// finalizeTask does that; it runs on the exit event, on StopContainer, and
// lazily whenever a status read finds a stopped task.

// finalizeTask records a stopped task's exit and deletes the task. The
// caller holds the container's lock. A task still running is left alone.
func (r *Runtime) finalizeTask(ctx context.Context, id string, task containerd.Task) error {
	st, err := task.Status(ctx)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return mapErr(err)
	}
	if st.Status != containerd.Stopped {
		return nil
	}
	rec, err := r.getRecord(ctx, id, kindContainer)
	if err != nil {
		return err
	}
	if rec.Labels[labelFinishedAt] == "" {
		code := int32(st.ExitStatus)
		reason := kubelet.ReasonError
		switch {
		case oomKilled(rec.Labels[labelCgroup]):
			reason = kubelet.ReasonOOMKilled
		case code == 0:
			reason = kubelet.ReasonCompleted
		}
		err := r.setLabels(ctx, id, map[string]string{
			labelExitCode: strconv.Itoa(int(code)), labelFinishedAt: formatTime(st.ExitTime), labelReason: reason,
		})
		if err != nil {
			return err
		}
	}
	if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete task of %s: %w", id, mapErr(err))
	}
	return nil
}

// finalizeID finalizes a container by id if its task has stopped.
func (r *Runtime) finalizeID(ctx context.Context, id string) error {
	unlock := r.locks.lock(id)
	defer unlock()
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return mapErr(err)
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return mapErr(err)
	}
	return r.finalizeTask(ctx, id, task)
}

// ContainerStatus returns the container's state, pid, times and exit.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (kubelet.ContainerStatus, error) {
	ctx = r.ns(ctx)
	rec, err := r.getRecord(ctx, id, kindContainer)
	if err != nil {
		return kubelet.ContainerStatus{}, err
	}
	resp, err := r.client.TaskService().Get(ctx, &tasksapi.GetRequest{ContainerID: id})
	err = native(err)
	var proc *tasktypes.Process
	switch {
	case err == nil:
		proc = resp.Process
	case !errdefs.IsNotFound(err):
		return kubelet.ContainerStatus{}, mapErr(err)
	}
	if proc != nil && proc.Status == tasktypes.Status_STOPPED {
		if err := r.finalizeID(ctx, id); err != nil {
			return kubelet.ContainerStatus{}, err
		}
		if rec, err = r.getRecord(ctx, id, kindContainer); err != nil {
			return kubelet.ContainerStatus{}, err
		}
		proc = nil
	}
	s := kubelet.ContainerStatus{Container: containerOf(rec, proc), LogPath: rec.Labels[labelLogPath]}
	s.StartedAt = parseTime(rec.Labels[labelStartedAt])
	s.FinishedAt = parseTime(rec.Labels[labelFinishedAt])
	switch s.State {
	case kubelet.ContainerRunning:
		s.Pid = proc.Pid
	case kubelet.ContainerExited:
		s.ExitCode = int32(parseInt(rec.Labels[labelExitCode]))
		s.Reason = rec.Labels[labelReason]
		s.Message = rec.Labels[labelMessage]
	case kubelet.ContainerUnknown:
		s.Reason, s.Message = "Unknown", "the container's process was lost (its task is gone without a recorded exit)"
	}
	return s, nil
}

// ListContainers lists containers with their state; one call for records,
// one for tasks.
func (r *Runtime) ListContainers(ctx context.Context, filter kubelet.ContainerFilter) ([]kubelet.Container, error) {
	ctx = r.ns(ctx)
	recs, err := r.listRecords(ctx, kindContainer, filter.ID)
	if err != nil {
		return nil, err
	}
	resp, err := r.client.TaskService().List(ctx, &tasksapi.ListTasksRequest{})
	if err != nil {
		return nil, mapErr(err)
	}
	procs := make(map[string]*tasktypes.Process, len(resp.Tasks))
	for _, p := range resp.Tasks {
		if p.ID == p.ContainerID || p.ContainerID == "" {
			procs[p.ID] = p
		}
	}
	out := make([]kubelet.Container, 0, len(recs))
	for _, rec := range recs {
		c := containerOf(rec, procs[rec.ID])
		if filter.SandboxID != "" && c.SandboxID != filter.SandboxID ||
			filter.State != "" && c.State != filter.State || !matches(c.Labels, filter.Labels) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// containerOf derives a Container from its record and task (nil: none).
func containerOf(rec containers.Container, proc *tasktypes.Process) kubelet.Container {
	l := rec.Labels
	labels, annotations := splitLabels(l)
	attempt, _ := strconv.ParseUint(l[labelAttempt], 10, 32)
	return kubelet.Container{
		ID: rec.ID, SandboxID: l[labelSandbox], Name: l[labelName],
		Image: l[labelImage], ImageID: l[labelImageID], State: stateOf(l, proc),
		Attempt: uint32(attempt), CreatedAt: rec.CreatedAt, Labels: labels, Annotations: annotations,
	}
}

func stateOf(labels map[string]string, proc *tasktypes.Process) kubelet.ContainerState {
	if proc != nil {
		switch proc.Status {
		case tasktypes.Status_RUNNING, tasktypes.Status_PAUSED, tasktypes.Status_PAUSING:
			return kubelet.ContainerRunning
		case tasktypes.Status_STOPPED:
			return kubelet.ContainerExited
		case tasktypes.Status_CREATED:
			return kubelet.ContainerCreated
		}
		return kubelet.ContainerUnknown
	}
	switch {
	case labels[labelFinishedAt] != "":
		return kubelet.ContainerExited
	case labels[labelStartedAt] != "":
		return kubelet.ContainerUnknown
	}
	return kubelet.ContainerCreated
}
