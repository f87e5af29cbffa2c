package scheduler

import (
	"context"
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// bind writes the decision through pods/binding. On failure the
// assumption is forgotten, and the pod tried again after its back-off —
// unless it is gone or was bound by someone else meanwhile.
func (s *Shell) bind(ctx context.Context, qp *queuedPod, assumed *corev1.Pod) {
	node := assumed.Spec.NodeName
	err := s.opts.Client.CoreV1().Pods(assumed.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: assumed.Namespace, Name: assumed.Name, UID: assumed.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
	if err == nil {
		s.scheduled.Add(1)
		s.queue.Done(qp)
		s.recorder.Eventf(assumed, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", assumed.Namespace, assumed.Name, node)
		return
	}
	s.bindErrors.Add(1)
	s.forget(assumed)
	if ctx.Err() != nil {
		return
	}
	s.log.Info("binding failed", "pod", qp.key, "node", node, "error", err)
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Deleted, being deleted, recreated or already bound: the
		// informer brings the pod back if it still needs a node.
		s.queue.Done(qp)
		return
	}
	s.recorder.Eventf(assumed, corev1.EventTypeWarning, "FailedScheduling", "Binding rejected: %v", err)
	s.queue.Retry(qp)
}

// forget removes an assumed pod from the snapshot unless the informer has
// since brought the bound pod.
func (s *Shell) forget(assumed *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.assumed[assumed.UID] == assumed {
		delete(s.assumed, assumed.UID)
		s.snap.RemovePod(assumed)
	}
}

// markUnschedulable records why the pod fits nowhere: a FailedScheduling
// event (the recorder folds repeats into one Event with a count) and the
// PodScheduled=False condition, written only when it changes.
func (s *Shell) markUnschedulable(ctx context.Context, pod *corev1.Pod, msg string) {
	s.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse &&
			c.Reason == corev1.PodReasonUnschedulable && c.Message == msg {
			return
		}
	}
	patch, err := json.Marshal(map[string]any{
		"status": map[string]any{
			"conditions": []corev1.PodCondition{{
				Type:               corev1.PodScheduled,
				Status:             corev1.ConditionFalse,
				Reason:             corev1.PodReasonUnschedulable,
				Message:            msg,
				LastTransitionTime: metav1.NewTime(time.Now()).Rfc3339Copy(),
			}},
		},
	})
	if err != nil {
		return
	}
	_, err = s.opts.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch,
		metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		s.log.Info("writing PodScheduled=False failed", "pod", pod.Namespace+"/"+pod.Name, "error", err)
	}
}
