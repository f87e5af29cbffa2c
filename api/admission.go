package api

import (
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// Default fills in Kubernetes' defaults on obj, in place, for every served
// kind, as the API server's decoding does before anything else: a Pod's
// restartPolicy, dnsPolicy, terminationGracePeriodSeconds, container
// imagePullPolicy, probe timings …; a Deployment's replicas, rolling-update
// strategy (25%/25%), revisionHistoryLimit and progressDeadlineSeconds; a
// Service's type, session affinity, port protocols and target ports,
// traffic policies and IP families; a Secret's type; a Source's interval,
// timeout and Git branch. Kinds without defaults are left alone. Default is
// idempotent.
func Default(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Pod:
		defaultPod(o)
	case *corev1.Service:
		defaultService(o)
	case *corev1.Secret:
		defaultSecret(o)
	case *corev1.ConfigMap:
		defaultConfigMap(o)
	case *corev1.Namespace:
		defaultNamespace(o)
	case *corev1.Node:
		defaultNode(o)
	case *corev1.Endpoints:
		defaultEndpoints(o)
	case *appsv1.Deployment:
		defaultDeployment(o)
	case *appsv1.ReplicaSet:
		defaultReplicaSet(o)
	case *discoveryv1.EndpointSlice:
		defaultEndpointSlice(o)
	case *gitopsv1alpha1.Source:
		defaultSource(o)
	}
}

// Validate checks a new object, after Default and PrepareForCreate, and
// returns every problem with its field path, worded as Kubernetes words it
// ("spec.containers[0].image: Required value"); an empty list means valid.
// Metadata is checked for every kind (name rules per kind, namespace
// required or forbidden by the resource's scope), then the kind's own
// rules. An object whose kind navarch does not serve gets one error at
// "kind".
func Validate(obj runtime.Object) field.ErrorList {
	return validate(obj, nil)
}

// ValidateUpdate checks an update of old to obj, after Default and
// PrepareForUpdate: what may change in metadata (resourceVersion required,
// name, namespace, uid and creationTimestamp unchanged), obj as Validate
// checks it (without the rules of creation only), and the fields of the
// kind that are immutable: a Deployment's or ReplicaSet's selector, a
// Service's cluster IPs once allocated, a Pod's spec except container
// images, activeDeadlineSeconds, added tolerations and an unset nodeName,
// the data of an immutable ConfigMap or Secret, a Secret's type, a Node's
// podCIDRs and providerID once set, an EndpointSlice's addressType.
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	if reflect.TypeOf(obj) != reflect.TypeOf(old) {
		return field.ErrorList{field.InternalError(field.NewPath("kind"), fmt.Errorf("update of a %T with a %T", old, obj))}
	}
	return validate(obj, old)
}

// validate runs the checks of a create (old nil) or an update.
func validate(obj, old runtime.Object) field.ErrorList {
	r, err := ResourceFor(obj)
	if err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("kind"), obj.GetObjectKind().GroupVersionKind().Kind, err.Error())}
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	var errs field.ErrorList
	if old != nil {
		om, err := meta.Accessor(old)
		if err != nil {
			return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
		}
		errs = append(errs, validateObjectMetaUpdate(obj, m, om)...)
	}
	errs = append(errs, validateObjectMeta(obj, m, r)...)
	errs = append(errs, validateKind(obj, old == nil)...)
	if old != nil {
		errs = append(errs, validateKindUpdate(obj, old)...)
	}
	return dedupe(errs)
}

// dedupe drops repeated errors (an update checks labels both as metadata of
// an update and of the new object).
func dedupe(errs field.ErrorList) field.ErrorList {
	seen := make(map[string]bool, len(errs))
	out := errs[:0]
	for _, e := range errs {
		if k := e.Error(); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// validateKind runs the rules of obj's kind; create is false on update.
func validateKind(obj runtime.Object, create bool) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Pod:
		return validatePod(o, create)
	case *corev1.Service:
		return validateService(o)
	case *corev1.Namespace:
		return validateNamespace(o)
	case *corev1.Node:
		return validateNode(o)
	case *corev1.Endpoints:
		return validateEndpoints(o)
	case *corev1.ConfigMap:
		return validateConfigMap(o)
	case *corev1.Secret:
		return validateSecret(o)
	case *corev1.Event:
		return validateEvent(o)
	case *appsv1.Deployment:
		return validateDeployment(o)
	case *appsv1.ReplicaSet:
		return validateReplicaSet(o)
	case *coordinationv1.Lease:
		return validateLease(o)
	case *discoveryv1.EndpointSlice:
		return validateEndpointSlice(o)
	case *gitopsv1alpha1.Source:
		return validateSource(o)
	}
	// ServiceAccount: metadata only, as in Kubernetes.
	return nil
}
