package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Grace periods.
const (
	// defaultGracePeriod applies to pods without
	// terminationGracePeriodSeconds.
	defaultGracePeriod = 30 * time.Second
	// minGracePeriod is the least a running container is given to stop
	// when a pod is removed, as Kubernetes' kubelet.
	minGracePeriod = 2 * time.Second
)

// syncResult says when to sync again, or that the worker is done (the
// pod is gone and nothing of it is left in the runtime).
type syncResult struct {
	requeue time.Duration
	done    bool
}

// syncPod converges one pod: it removes what is left of a pod gone from
// the API, stops a pod being deleted and then deletes its object, leaves
// a finished pod stopped, and otherwise runs the pod's sandbox, init and
// app containers; then it writes the pod's status if it changed.
func (k *Kubelet) syncPod(ctx context.Context, w *podWorker) syncResult {
	start := time.Now()
	pod, gone := w.snapshot()
	log := k.log.With("pod", w.uid)
	if pod != nil {
		log = k.log.With("pod", podKey(pod))
	}
	ctx = withLogger(ctx, log)
	state, err := k.readPodState(ctx, w.uid)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("read pod state", "err", err)
		}
		return syncResult{requeue: time.Second}
	}
	defer func() {
		if k.metrics != nil {
			k.metrics.syncDuration.Observe(time.Since(start).Seconds())
		}
	}()
	switch {
	case gone || pod == nil:
		return k.syncGone(ctx, w, pod, state)
	case pod.DeletionTimestamp != nil:
		return k.syncTerminating(ctx, w, pod, state)
	case isTerminal(pod.Status.Phase):
		return k.syncFinished(ctx, w, pod, state)
	}
	requeue, changed := k.converge(ctx, w, pod, state)
	if changed {
		if fresh, err := k.readPodState(ctx, w.uid); err == nil {
			state = fresh
		}
	}
	k.probes.sync(pod, state)
	status := k.podStatus(w, pod, state)
	if isTerminal(status.Phase) {
		// A finished pod keeps no network: release its IP.
		k.probes.forget(pod.UID)
		k.killPod(ctx, pod, state, podGrace(pod))
	}
	if !w.startRecorded && allRunning(status) {
		w.startRecorded = true
		if k.metrics != nil {
			k.metrics.podStartDuration.Observe(k.opts.Now().Sub(w.seen).Seconds())
		}
	}
	if !k.writeStatus(ctx, w, pod, status) {
		requeue = min(requeue, time.Second)
	}
	return syncResult{requeue: requeue}
}

// syncGone stops and removes everything left of a pod deleted from the
// API (or unknown to it), then retires the worker.
func (k *Kubelet) syncGone(ctx context.Context, w *podWorker, pod *corev1.Pod, state *podState) syncResult {
	grace := minGracePeriod
	if pod != nil {
		grace = max(podGrace(pod), minGracePeriod)
		if pod.DeletionGracePeriodSeconds != nil {
			grace = max(time.Duration(*pod.DeletionGracePeriodSeconds)*time.Second, minGracePeriod)
		}
	}
	k.probes.forget(w.uid)
	if err := k.killPod(ctx, pod, state, grace); err != nil {
		return syncResult{requeue: time.Second}
	}
	if err := k.removePod(ctx, w.uid, pod, state); err != nil {
		loggerFrom(ctx).Warn("remove pod", "err", err)
		return syncResult{requeue: 2 * time.Second}
	}
	return syncResult{done: true}
}

// syncTerminating stops a pod being deleted gracefully within its grace
// period, writes its final status, and deletes its object once its
// containers are gone.
func (k *Kubelet) syncTerminating(ctx context.Context, w *podWorker, pod *corev1.Pod, state *podState) syncResult {
	grace := podGrace(pod)
	if pod.DeletionGracePeriodSeconds != nil {
		grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	k.probes.forget(w.uid)
	if err := k.killPod(ctx, pod, state, grace); err != nil {
		return syncResult{requeue: time.Second}
	}
	if fresh, err := k.readPodState(ctx, w.uid); err == nil {
		state = fresh
	}
	if len(state.running()) > 0 {
		return syncResult{requeue: time.Second}
	}
	k.writeStatus(ctx, w, pod, k.podStatus(w, pod, state))
	if now := k.opts.Now(); now.Sub(w.deleteAt) > 5*time.Second {
		w.deleteAt = now
		err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptrTo(int64(0)),
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		switch {
		case err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			loggerFrom(ctx).Info("pod stopped and deleted")
		default:
			loggerFrom(ctx).Warn("delete pod", "err", err)
		}
	}
	// The informer's delete event retires the worker.
	return syncResult{requeue: 5 * time.Second}
}

// syncFinished keeps a Succeeded or Failed pod stopped, with its status.
func (k *Kubelet) syncFinished(ctx context.Context, w *podWorker, pod *corev1.Pod, state *podState) syncResult {
	k.probes.forget(w.uid)
	if err := k.killPod(ctx, pod, state, podGrace(pod)); err != nil {
		return syncResult{requeue: time.Second}
	}
	if w.lastStatus == nil {
		w.mu.Lock()
		w.lastStatus = pod.Status.DeepCopy()
		w.mu.Unlock()
	}
	return syncResult{}
}

// converge runs the pod's sandbox, then its init containers in order,
// then its app containers, restarting them as restartPolicy and back-off
// allow. It returns when to look again and whether it changed anything.
func (k *Kubelet) converge(ctx context.Context, w *podWorker, pod *corev1.Pod, state *podState) (time.Duration, bool) {
	rt := k.runtime()
	log := loggerFrom(ctx)
	sb := state.sandbox()
	changed := false
	w.crash.expire(k.opts.Now())
	w.images.expire(k.opts.Now())
	if sb == nil {
		if podCompleted(pod, state) {
			return 0, false
		}
		// Containers of a sandbox that went away are stale.
		if err := k.stopContainers(ctx, state.running(), podGrace(pod)); err != nil {
			return time.Second, true
		}
		if err := k.prepareVolumes(ctx, w, pod); err != nil {
			w.setAllReasons(pod, "ContainerCreating", err.Error())
			return 2 * time.Second, true
		}
		created, err := rt.RunPodSandbox(ctx, k.sandboxConfig(pod))
		if err != nil {
			log.Warn("create pod sandbox", "err", err)
			w.setAllReasons(pod, "ContainerCreating", "failed to create pod sandbox: "+err.Error())
			return 2 * time.Second, true
		}
		log.Debug("sandbox created", "sandbox", created.ID, "ip", created.IP)
		state.sandboxes = append([]SandboxStatus{{Sandbox: created, State: SandboxReady, CreatedAt: k.opts.Now()}}, state.sandboxes...)
		sb, changed = &state.sandboxes[0], true
	} else {
		for name, r := range w.reasons {
			if r.Reason == "ContainerCreating" {
				delete(w.reasons, name)
			}
		}
	}
	if !changed && k.opts.Now().Sub(w.volumesAt) > volumeRefreshPeriod {
		if err := k.prepareVolumes(ctx, w, pod); err != nil {
			log.Warn("refresh volumes", "err", err)
		}
	}
	requeue := k.opts.SyncPeriod
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		latest := state.latest(c.Name, sb.ID)
		switch {
		case latest == nil:
			return k.startContainer(ctx, w, pod, c, sb, state.nextAttempt(c.Name), true), true
		case latest.State == ContainerRunning:
			return requeue, changed
		case latest.State == ContainerCreated:
			if wait, stale := k.createdWait(latest); !stale {
				return wait, changed
			}
			rt.RemoveContainer(ctx, latest.ID)
			return k.startContainer(ctx, w, pod, c, sb, state.nextAttempt(c.Name), true), true
		case latest.State == ContainerExited && latest.ExitCode == 0:
			continue
		case pod.Spec.RestartPolicy == corev1.RestartPolicyNever:
			return requeue, changed // the pod failed
		}
		if wait := k.crashWait(w, pod, c, latest); wait > 0 {
			return wait, changed
		}
		return k.startContainer(ctx, w, pod, c, sb, state.nextAttempt(c.Name), true), true
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		next, did := k.convergeContainer(ctx, w, pod, c, sb, state)
		changed = changed || did
		if next > 0 && next < requeue {
			requeue = next
		}
	}
	return requeue, changed
}

// convergeContainer starts, restarts or stops one app container.
func (k *Kubelet) convergeContainer(ctx context.Context, w *podWorker, pod *corev1.Pod, c *corev1.Container, sb *SandboxStatus, state *podState) (time.Duration, bool) {
	rt := k.runtime()
	latest := state.latest(c.Name, sb.ID)
	attempt := state.nextAttempt(c.Name)
	if latest == nil {
		return k.startContainer(ctx, w, pod, c, sb, attempt, false), true
	}
	switch latest.State {
	case ContainerCreated:
		if wait, stale := k.createdWait(latest); !stale {
			return wait, false
		}
		rt.RemoveContainer(ctx, latest.ID)
		return k.startContainer(ctx, w, pod, c, sb, attempt, false), true
	case ContainerRunning:
		if latest.Annotations[annotationHash] != containerHash(c) {
			loggerFrom(ctx).Info("container spec changed; restarting", "container", c.Name)
			if err := k.stopContainers(ctx, []ContainerStatus{*latest}, podGrace(pod)); err != nil {
				return time.Second, true
			}
			return k.startContainer(ctx, w, pod, c, sb, attempt, false), true
		}
		kill, grace, why := k.probes.shouldKill(latest.ID)
		if !kill {
			return 0, false
		}
		loggerFrom(ctx).Info("killing container", "container", c.Name, "reason", why)
		if grace < 0 {
			grace = podGrace(pod)
		}
		k.stopContainers(ctx, []ContainerStatus{*latest}, grace)
		// Look again at once: the container is now exited and restarts
		// as restartPolicy says.
		return time.Millisecond, true
	}
	if !shouldRestart(pod.Spec.RestartPolicy, latest) {
		return 0, false
	}
	if wait := k.crashWait(w, pod, c, latest); wait > 0 {
		return wait, false
	}
	return k.startContainer(ctx, w, pod, c, sb, attempt, false), true
}

// staleCreated is how long a container may stay created (started but not
// yet running, as a runtime with a start delay shows it) before it counts
// as left behind by an interrupted start and is replaced.
const staleCreated = 2 * time.Minute

// createdWait says how long to wait for a created container to run, or
// that it is stale.
func (k *Kubelet) createdWait(c *ContainerStatus) (time.Duration, bool) {
	if k.opts.Now().Sub(c.CreatedAt) > staleCreated {
		return 0, true
	}
	return time.Second, false
}

// crashWait records the failure of an exited container with the crash
// back-off and returns how long its restart must wait (0: now), setting
// the CrashLoopBackOff reason while it waits.
func (k *Kubelet) crashWait(w *podWorker, pod *corev1.Pod, c *corev1.Container, latest *ContainerStatus) time.Duration {
	ran := latest.FinishedAt.Sub(latest.StartedAt)
	finished := latest.FinishedAt
	if finished.IsZero() {
		finished = latest.CreatedAt
	}
	retry := w.crash.failure(c.Name, finished, ran)
	wait := retry.Sub(k.opts.Now())
	if wait <= 0 {
		return 0
	}
	w.reasons[c.Name] = waitReason{
		Reason: "CrashLoopBackOff",
		Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
			w.crash.delay(c.Name), c.Name, pod.Name, pod.Namespace, pod.UID),
	}
	return wait
}

// allRunning reports whether every app container of st runs.
func allRunning(st corev1.PodStatus) bool {
	for _, cs := range st.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return len(st.ContainerStatuses) > 0
}

// shouldRestart applies restartPolicy to an exited container.
func shouldRestart(policy corev1.RestartPolicy, c *ContainerStatus) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return c.State != ContainerExited || c.ExitCode != 0
	}
	return true
}

// podCompleted reports whether a pod with no sandbox has finished for good:
// its containers all ran and restartPolicy restarts none of them.
func podCompleted(pod *corev1.Pod, state *podState) bool {
	if pod.Spec.RestartPolicy == corev1.RestartPolicyAlways {
		return false
	}
	for _, c := range pod.Spec.Containers {
		cs := state.containers[c.Name]
		if len(cs) == 0 || shouldRestart(pod.Spec.RestartPolicy, &cs[0]) || cs[0].State == ContainerRunning {
			return false
		}
	}
	return true
}

// killPod stops the pod's running containers within grace (in parallel),
// then stops its ready sandboxes, which releases their IPs.
func (k *Kubelet) killPod(ctx context.Context, pod *corev1.Pod, state *podState, grace time.Duration) error {
	if err := k.stopContainers(ctx, state.running(), grace); err != nil {
		return err
	}
	for _, sb := range state.sandboxes {
		if sb.State != SandboxReady {
			continue
		}
		if err := k.runtime().StopPodSandbox(ctx, sb.ID); err != nil && !errors.Is(err, ErrNotFound) {
			loggerFrom(ctx).Warn("stop sandbox", "sandbox", sb.ID, "err", err)
			return err
		}
		loggerFrom(ctx).Debug("sandbox stopped", "sandbox", sb.ID, "ip", sb.IP)
	}
	return nil
}

// stopContainers stops cs in parallel, each within grace.
func (k *Kubelet) stopContainers(ctx context.Context, cs []ContainerStatus, grace time.Duration) error {
	if len(cs) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, len(cs))
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := k.runtime().StopContainer(ctx, c.ID, grace)
			if err != nil && !errors.Is(err, ErrNotFound) {
				loggerFrom(ctx).Warn("stop container", "container", c.Name, "id", c.ID, "err", err)
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// removePod removes the pod's sandboxes and containers, volumes and logs.
func (k *Kubelet) removePod(ctx context.Context, uid types.UID, pod *corev1.Pod, state *podState) error {
	rt := k.runtime()
	for _, sb := range state.sandboxes {
		if err := rt.RemovePodSandbox(ctx, sb.ID); err != nil {
			return fmt.Errorf("remove sandbox %s: %w", sb.ID, err)
		}
	}
	for _, cs := range state.containers {
		for _, c := range cs {
			if err := rt.RemoveContainer(ctx, c.ID); err != nil {
				return fmt.Errorf("remove container %s: %w", c.ID, err)
			}
		}
	}
	if err := k.cleanupVolumes(uid); err != nil {
		return err
	}
	k.removeLogs(uid)
	loggerFrom(ctx).Debug("pod removed")
	return nil
}

// podGrace is the pod's terminationGracePeriodSeconds.
func podGrace(pod *corev1.Pod) time.Duration {
	if pod != nil && pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return defaultGracePeriod
}

func isTerminal(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}

// setAllReasons gives every container of pod that has no instance the
// same waiting reason.
func (w *podWorker) setAllReasons(pod *corev1.Pod, reason, msg string) {
	for _, c := range pod.Spec.InitContainers {
		w.reasons[c.Name] = waitReason{reason, msg}
	}
	for _, c := range pod.Spec.Containers {
		w.reasons[c.Name] = waitReason{reason, msg}
	}
}
