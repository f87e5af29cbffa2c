package api

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The rules of an update beyond those of the new object alone: immutable
// fields, per kind, ported from Kubernetes' Validate*Update functions and
// registry strategies.

// validateKindUpdate checks what obj may not change of old; both are of the
// same kind.
func validateKindUpdate(obj, old runtime.Object) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Pod:
		return validatePodUpdate(o, old.(*corev1.Pod))
	case *corev1.Service:
		return validateServiceUpdate(o, old.(*corev1.Service))
	case *corev1.ConfigMap:
		return validateConfigMapUpdate(o, old.(*corev1.ConfigMap))
	case *corev1.Secret:
		return validateSecretUpdate(o, old.(*corev1.Secret))
	case *corev1.Node:
		return validateNodeUpdate(o, old.(*corev1.Node))
	case *appsv1.Deployment:
		return validateImmutable(o.Spec.Selector, old.(*appsv1.Deployment).Spec.Selector, field.NewPath("spec", "selector"))
	case *appsv1.ReplicaSet:
		return validateImmutable(o.Spec.Selector, old.(*appsv1.ReplicaSet).Spec.Selector, field.NewPath("spec", "selector"))
	case *discoveryv1.EndpointSlice:
		return validateImmutable(o.AddressType, old.(*discoveryv1.EndpointSlice).AddressType, field.NewPath("addressType"))
	}
	return nil
}

// updatablePodSpecFields are the fields of a pod's spec an update may change.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
	"`spec.nodeName` (only from empty, as a binding does)",
}

// validatePodUpdate: a pod's spec is immutable except its container images,
// activeDeadlineSeconds (lowered only), added tolerations, removed
// scheduling gates, and nodeName while unset.
func validatePodUpdate(pod, old *corev1.Pod) field.ErrorList {
	spec := field.NewPath("spec")
	errs, stop := validateContainerImageUpdates(pod.Spec.Containers, old.Spec.Containers, spec.Child("containers"))
	if stop {
		return errs
	}
	initErrs, stop := validateContainerImageUpdates(pod.Spec.InitContainers, old.Spec.InitContainers, spec.Child("initContainers"))
	if errs = append(errs, initErrs...); stop {
		return errs
	}
	if e := validateActiveDeadlineUpdate(pod.Spec.ActiveDeadlineSeconds, old.Spec.ActiveDeadlineSeconds, spec.Child("activeDeadlineSeconds")); e != nil {
		return append(errs, e)
	}
	errs = append(errs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, spec.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, spec.Child("schedulingGates"))...)
	if old.Spec.NodeName != "" && pod.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Invalid(spec.Child("nodeName"), pod.Spec.NodeName, "may not change once set"))
	}
	if equality.Semantic.DeepEqual(pod.Spec, old.Spec) {
		return errs
	}
	munged := pod.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	munged.SchedulingGates = old.Spec.SchedulingGates
	munged.Tolerations = old.Spec.Tolerations
	munged.NodeName = old.Spec.NodeName
	if g, og := munged.TerminationGracePeriodSeconds, old.Spec.TerminationGracePeriodSeconds; og != nil && *og < 0 && g != nil && *g == 1 {
		munged.TerminationGracePeriodSeconds = og
	}
	if !equality.Semantic.DeepEqual(*munged, old.Spec) {
		errs = append(errs, field.Forbidden(spec, fmt.Sprintf("pod updates may not change fields other than %s\n%v",
			strings.Join(updatablePodSpecFields, ","), diff.Diff(old.Spec, *munged))))
	}
	return errs
}

func validateContainerImageUpdates(cs, old []corev1.Container, path *field.Path) (field.ErrorList, bool) {
	if len(cs) != len(old) {
		return field.ErrorList{field.Forbidden(path, "pod updates may not add or remove containers")}, true
	}
	var errs field.ErrorList
	for i, c := range cs {
		if c.Image == "" {
			errs = append(errs, field.Required(path.Index(i).Child("image"), ""))
		}
	}
	return errs, false
}

// validateActiveDeadlineUpdate allows setting activeDeadlineSeconds or
// lowering it, not raising or removing it.
func validateActiveDeadlineUpdate(a, old *int64, path *field.Path) *field.Error {
	switch {
	case a != nil && (*a < 0 || *a > math.MaxInt32):
		return field.Invalid(path, *a, validation.InclusiveRangeError(0, math.MaxInt32))
	case a != nil && old != nil && *old < *a:
		return field.Invalid(path, *a, "must be less than or equal to previous value")
	case a == nil && old != nil:
		return field.Invalid(path, a, "must not update from a positive integer to nil value")
	}
	return nil
}

func validateOnlyAddedTolerations(tolerations, old []corev1.Toleration, path *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			clone := *o.DeepCopy()
			clone.TolerationSeconds = t.TolerationSeconds
			if reflect.DeepEqual(clone, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(path, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

func validateOnlyDeletedSchedulingGates(gates, old []corev1.PodSchedulingGate, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	existing := map[string]bool{}
	for _, g := range old {
		existing[g.Name] = true
	}
	for i, g := range gates {
		if !existing[g.Name] {
			errs = append(errs, field.Forbidden(path.Index(i).Child("name"),
				fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}
