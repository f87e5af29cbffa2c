package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// statusInput is everything a pod's status is computed from.
type statusInput struct {
	pod *corev1.Pod
	// last is the status the kubelet last computed for the pod, nil
	// before the first: its startTime and its transition times stand even
	// when the pod the API delivered does not show them yet.
	last    *corev1.PodStatus
	state   *podState
	reasons map[string]waitReason
	// ready and started report the readiness and startup probes' verdict
	// on a running container.
	ready, started func(containerID string) bool
	runtimeName    string
	hostIP         string
	now            time.Time
}

// podStatus computes pod's status from the runtime's state.
func (k *Kubelet) podStatus(w *podWorker, pod *corev1.Pod, state *podState) corev1.PodStatus {
	name := "containerd"
	if rt := k.runtimeVersion(); rt != "" {
		name, _, _ = strings.Cut(rt, ":")
	}
	w.mu.Lock()
	last := w.lastStatus
	w.mu.Unlock()
	return computePodStatus(statusInput{
		pod: pod, last: last, state: state, reasons: w.reasons,
		ready: k.probes.isReady, started: k.probes.isStarted,
		runtimeName: name, hostIP: k.opts.NodeIP, now: k.opts.Now(),
	})
}

// computePodStatus is the pure core of status: phase, conditions and
// container statuses as Kubernetes' kubelet reports them. Fields it does
// not own (qosClass, nominatedNodeName, foreign conditions …) are kept
// from the pod's current status. As in Kubernetes' status manager, the
// start time and the transition times of the kubelet's own conditions
// are those of the status last computed (in.last) when there is one: the
// pod an informer delivers may not show the kubelet's latest write yet,
// and a status recomputed from it must not differ from that write by its
// timestamps alone.
func computePodStatus(in statusInput) corev1.PodStatus {
	pod := in.pod
	old := pod.Status
	st := *old.DeepCopy()
	if in.last != nil && in.last.StartTime != nil {
		st.StartTime = in.last.StartTime.DeepCopy()
	}
	sb := in.state.sandbox()
	sbID := ""
	if sb != nil {
		sbID = sb.ID
		st.PodIP, st.PodIPs = sb.IP, []corev1.PodIP{{IP: sb.IP}}
	} else if len(in.state.sandboxes) > 0 && st.PodIP == "" && in.state.sandboxes[0].IP != "" {
		ip := in.state.sandboxes[0].IP
		st.PodIP, st.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	}
	st.HostIP, st.HostIPs = in.hostIP, []corev1.HostIP{{IP: in.hostIP}}
	if st.StartTime == nil {
		t := metav1.NewTime(in.now.Truncate(time.Second))
		st.StartTime = &t
	}
	initDone := true
	st.InitContainerStatuses = make([]corev1.ContainerStatus, 0, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := in.containerStatus(c, sbID, "")
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			initDone = false
		}
	}
	if len(st.InitContainerStatuses) == 0 {
		st.InitContainerStatuses = nil
	}
	waitingFor := reasonContainerCreating
	if !initDone {
		waitingFor = reasonPodInitializing
	}
	st.ContainerStatuses = make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, in.containerStatus(&pod.Spec.Containers[i], sbID, waitingFor))
	}
	st.Phase = podPhase(pod, st.InitContainerStatuses, st.ContainerStatuses)
	if isTerminal(old.Phase) {
		st.Phase = old.Phase // a finished pod never runs again
	}
	in.setConditions(&st, initDone)
	return st
}

// containerStatus reports one container: its newest instance in the
// sandbox sbID (running, waiting with a reason, or terminated) and the one
// before as lastState. waitingFor is the reason of a container not yet
// created ("" for init containers: ContainerCreating … or
// PodInitializing).
func (in statusInput) containerStatus(c *corev1.Container, sbID, waitingFor string) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
	insts := in.state.containers[c.Name]
	var latest *ContainerStatus
	for i := range insts {
		if insts[i].SandboxID == sbID || sbID == "" {
			latest = &insts[i]
			break
		}
	}
	reason, hasReason := in.reasons[c.Name]
	if latest == nil && len(insts) > 0 {
		latest = &insts[0] // from a sandbox that is gone
	}
	if latest == nil {
		if !hasReason {
			reason = waitReason{Reason: waitingFor}
			if waitingFor == "" {
				reason.Reason = reasonPodInitializing
			}
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason.Reason, Message: reason.Message}
		return cs
	}
	cs.ContainerID = in.runtimeName + "://" + latest.ID
	cs.ImageID = latest.ImageID
	cs.RestartCount = int32(latest.Attempt)
	var prev *ContainerStatus
	for i := range insts {
		if &insts[i] != latest && insts[i].Attempt < latest.Attempt && insts[i].State != ContainerRunning {
			prev = &insts[i]
			break
		}
	}
	switch latest.State {
	case ContainerRunning:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(latest.StartedAt)}
		started := in.started(latest.ID)
		cs.Started = &started
		cs.Ready = started && in.ready(latest.ID)
		if prev != nil {
			cs.LastTerminationState.Terminated = terminated(in.runtimeName, prev)
		}
	case ContainerCreated:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reasonContainerCreating}
		cs.Started = ptrTo(false)
	default:
		term := terminated(in.runtimeName, latest)
		cs.Started = ptrTo(false)
		if hasReason {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason.Reason, Message: reason.Message}
			cs.LastTerminationState.Terminated = term
		} else {
			cs.State.Terminated = term
			if prev != nil {
				cs.LastTerminationState.Terminated = terminated(in.runtimeName, prev)
			}
		}
	}
	return cs
}

func terminated(runtimeName string, c *ContainerStatus) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{
		ExitCode: c.ExitCode, Reason: c.Reason, Message: c.Message,
		StartedAt: metav1.NewTime(c.StartedAt), FinishedAt: metav1.NewTime(c.FinishedAt),
		ContainerID: runtimeName + "://" + c.ID,
	}
	if c.State == ContainerUnknown {
		t.ExitCode, t.Reason = 137, "ContainerStatusUnknown"
		if t.Message == "" {
			t.Message = "The container could not be located when the pod was terminated"
		}
	}
	if t.Reason == "" {
		t.Reason = ReasonError
		if t.ExitCode == 0 {
			t.Reason = ReasonCompleted
		}
	}
	return t
}

// podPhase is Kubernetes' phase rule: Pending until init containers
// succeeded and every app container ran; Running while one runs or will
// be restarted; Succeeded or Failed once all stopped for good.
func podPhase(pod *corev1.Pod, initStatuses, statuses []corev1.ContainerStatus) corev1.PodPhase {
	policy := pod.Spec.RestartPolicy
	pendingInit, failedInit := 0, 0
	for _, cs := range initStatuses {
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
		case cs.State.Terminated != nil:
			failedInit++
		case cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.ExitCode != 0:
			failedInit++
		default:
			pendingInit++
		}
	}
	if failedInit > 0 && policy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	if pendingInit > 0 || failedInit > 0 {
		return corev1.PodPending
	}
	running, waiting, stopped, succeeded := 0, 0, 0, 0
	for _, cs := range statuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped == len(statuses) && stopped > 0:
		switch {
		case policy == corev1.RestartPolicyAlways:
			return corev1.PodRunning
		case stopped == succeeded:
			return corev1.PodSucceeded
		case policy == corev1.RestartPolicyOnFailure:
			return corev1.PodRunning
		}
		return corev1.PodFailed
	}
	return corev1.PodPending
}

// setConditions sets Initialized, Ready, ContainersReady and PodScheduled,
// keeping other conditions and unchanged transition times.
func (in statusInput) setConditions(st *corev1.PodStatus, initDone bool) {
	var unready []string
	for _, cs := range st.ContainerStatuses {
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	var incomplete []string
	for _, cs := range st.InitContainerStatuses {
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			incomplete = append(incomplete, cs.Name)
		}
	}
	initialized := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if !initDone {
		initialized.Status, initialized.Reason = corev1.ConditionFalse, "ContainersNotInitialized"
		initialized.Message = fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(incomplete, " "))
	}
	containersReady := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
	switch {
	case st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed:
		containersReady.Status, containersReady.Reason = corev1.ConditionFalse, "PodCompleted"
	case len(unready) > 0:
		containersReady.Status, containersReady.Reason = corev1.ConditionFalse, "ContainersNotReady"
		containersReady.Message = fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
	}
	ready := containersReady
	ready.Type = corev1.PodReady
	if ready.Status == corev1.ConditionTrue {
		for _, gate := range in.pod.Spec.ReadinessGates {
			c := findCondition(st.Conditions, gate.ConditionType)
			if c == nil || c.Status != corev1.ConditionTrue {
				ready.Status, ready.Reason = corev1.ConditionFalse, "ReadinessGatesNotReady"
				ready.Message = fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist or is not True", gate.ConditionType)
				break
			}
		}
	}
	scheduled := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}
	var prev []corev1.PodCondition
	if in.last != nil {
		prev = in.last.Conditions
	}
	for _, c := range []corev1.PodCondition{initialized, ready, containersReady, scheduled} {
		putPodCondition(st, c, prev, in.now)
	}
}

// putPodCondition sets c, keeping the transition time when its status did
// not change since prev (the status last computed) or, when prev does not
// have it, since st.
func putPodCondition(st *corev1.PodStatus, c corev1.PodCondition, prev []corev1.PodCondition, now time.Time) {
	c.LastTransitionTime = metav1.NewTime(now.Truncate(time.Second))
	cur := findCondition(st.Conditions, c.Type)
	before := findCondition(prev, c.Type)
	if before == nil {
		before = cur
	}
	if before != nil && before.Status == c.Status {
		c.LastTransitionTime = before.LastTransitionTime
	}
	if cur != nil {
		c.LastProbeTime = cur.LastProbeTime
		*cur = c
		return
	}
	st.Conditions = append(st.Conditions, c)
	order := map[corev1.PodConditionType]int{corev1.PodInitialized: 1, corev1.PodReady: 2, corev1.ContainersReady: 3, corev1.PodScheduled: 4}
	slices.SortStableFunc(st.Conditions, func(a, b corev1.PodCondition) int {
		return cmpOrder(order[a.Type]) - cmpOrder(order[b.Type])
	})
}

func cmpOrder(n int) int {
	if n == 0 {
		return 100
	}
	return n
}

func findCondition(cs []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

// writeStatus patches the pod's status when it differs from what was
// last written (or, before any write, from the pod as the API has it).
// It reports false when the write failed.
func (k *Kubelet) writeStatus(ctx context.Context, w *podWorker, pod *corev1.Pod, st corev1.PodStatus) bool {
	w.mu.Lock()
	last := w.lastStatus
	w.mu.Unlock()
	if last == nil {
		last = &pod.Status
	}
	if equality.Semantic.DeepEqual(last, &st) {
		w.mu.Lock()
		w.lastStatus = &st
		w.mu.Unlock()
		return true
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   st,
	})
	if err != nil {
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = k.client.CoreV1().Pods(pod.Namespace).Patch(pctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			loggerFrom(ctx).Warn("write pod status", "err", err)
		}
		return apierrors.IsNotFound(err)
	}
	if k.metrics != nil {
		k.metrics.statusWrites.Inc()
	}
	w.mu.Lock()
	w.lastStatus = &st
	w.mu.Unlock()
	return true
}
