package apiserver

import (
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var bindingGVK = corev1.SchemeGroupVersion.WithKind("Binding")

// serveBinding answers POST pods/<name>/binding, the scheduler's way to
// assign a pod to a node: spec.nodeName is set once; a pod already bound or
// being deleted is a 409.
func (s *Server) serveBinding(rr *resourceRequest) {
	dryRun, err := rr.dryRun()
	if err != nil {
		rr.fail(err)
		return
	}
	b := &corev1.Binding{}
	if err := s.decodeBody(rr, bindingGVK, b); err != nil {
		rr.fail(err)
		return
	}
	if b.Name != "" && b.Name != rr.info.Name {
		rr.fail(errNameMismatch(b.Name, rr.info.Name))
		return
	}
	if b.Target.Name == "" || (b.Target.Kind != "" && b.Target.Kind != "Node") {
		rr.fail(apierrors.NewInvalid(bindingGVK.GroupKind(), rr.info.Name, field.ErrorList{
			field.Invalid(field.NewPath("target"), b.Target, "must name a Node"),
		}))
		return
	}
	_, err = s.update(rr, dryRun, func(cur runtime.Object) (runtime.Object, error) {
		pod := cur.DeepCopyObject().(*corev1.Pod)
		switch {
		case b.UID != "" && b.UID != pod.UID:
			return nil, apierrors.NewConflict(rr.gr(), pod.Name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
		case pod.DeletionTimestamp != nil:
			return nil, apierrors.NewConflict(rr.gr(), pod.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
		case pod.Spec.NodeName != "":
			return nil, apierrors.NewConflict(rr.gr(), pod.Name, fmt.Errorf("pod %s is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		setPodScheduled(pod, metav1.NewTime(s.now()).Rfc3339Copy())
		return pod, nil
	})
	if err != nil {
		rr.fail(err)
		return
	}
	writeSuccess(rr, http.StatusCreated, &metav1.Status{Code: http.StatusCreated})
}

// setPodScheduled sets the PodScheduled condition to True.
func setPodScheduled(pod *corev1.Pod, now metav1.Time) {
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		if c.Type == corev1.PodScheduled {
			if c.Status != corev1.ConditionTrue {
				c.LastTransitionTime = now
			}
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
		Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now,
	})
}
