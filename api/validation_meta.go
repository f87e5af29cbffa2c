package api

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// Object metadata rules and the small validators every kind shares, ported
// from Kubernetes' pkg/apis/core/validation.

// Messages Kubernetes uses word for word.
const (
	isNegativeErrorMsg     = apivalidation.IsNegativeErrorMsg
	fieldImmutableErrorMsg = apivalidation.FieldImmutableErrorMsg
	isNotIntegerErrorMsg   = "must be an integer"
	fileModeErrorMsg       = "must be a number between 0 and 0777 (octal), both inclusive"
)

// nameFuncFor returns the rule a kind's names follow: a DNS-1123 label for
// Namespaces, a DNS-1035 label (starting with a letter) for Services, a
// DNS-1123 subdomain for everything else.
func nameFuncFor(obj runtime.Object) apivalidation.ValidateNameFunc {
	switch obj.(type) {
	case *corev1.Namespace:
		return apivalidation.ValidateNamespaceName
	case *corev1.Service:
		return apivalidation.NameIsDNS1035Label
	default:
		return apivalidation.NameIsDNSSubdomain
	}
}

// validateObjectMeta checks the metadata of a new object of resource r.
// Kubernetes' built-in kinds also require finalizer names without a "/" to
// be one of the standard ones; custom kinds (Source) do not.
func validateObjectMeta(obj runtime.Object, m metav1.Object, r Resource) field.ErrorList {
	path := field.NewPath("metadata")
	errs := apivalidation.ValidateObjectMetaAccessor(m, r.Namespaced, nameFuncFor(obj), path)
	if _, custom := obj.(*gitopsv1alpha1.Source); !custom {
		errs = append(errs, validateKubeFinalizers(m.GetFinalizers(), path.Child("finalizers"))...)
	}
	return errs
}

// validateObjectMetaUpdate checks what an update may change in metadata.
func validateObjectMetaUpdate(obj runtime.Object, m, old metav1.Object) field.ErrorList {
	path := field.NewPath("metadata")
	errs := apivalidation.ValidateObjectMetaAccessorUpdate(m, old, path)
	if _, custom := obj.(*gitopsv1alpha1.Source); !custom {
		errs = append(errs, validateKubeFinalizers(m.GetFinalizers(), path.Child("finalizers"))...)
	}
	return errs
}

var standardFinalizers = map[string]bool{
	string(corev1.FinalizerKubernetes): true,
	metav1.FinalizerOrphanDependents:   true,
	metav1.FinalizerDeleteDependents:   true,
}

func validateKubeFinalizers(finalizers []string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range finalizers {
		errs = append(errs, validateKubeFinalizerName(f, path.Index(i))...)
	}
	return errs
}

func validateKubeFinalizerName(name string, path *field.Path) field.ErrorList {
	if !strings.Contains(name, "/") && !standardFinalizers[name] {
		return field.ErrorList{field.Invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified")}
	}
	return nil
}

// validateDNS1123Label checks value is a DNS-1123 label.
func validateDNS1123Label(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// validateDNS1123Subdomain checks value is a DNS-1123 subdomain.
func validateDNS1123Subdomain(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// validateQualifiedName checks value is a qualified name (a label key).
func validateQualifiedName(value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(value) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// validateName checks value with a name rule (an object's name in another
// object's field).
func validateName(value string, fn apivalidation.ValidateNameFunc, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range fn(value, false) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

func validateNonnegative(value int64, path *field.Path) field.ErrorList {
	return apivalidation.ValidateNonnegativeField(value, path)
}

func validateImmutable(newVal, oldVal any, path *field.Path) field.ErrorList {
	return apivalidation.ValidateImmutableField(newVal, oldVal, path)
}

func validateLabels(labels map[string]string, path *field.Path) field.ErrorList {
	return metav1validation.ValidateLabels(labels, path)
}

func validateLabelSelector(s *metav1.LabelSelector, path *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(s, metav1validation.LabelSelectorValidationOptions{}, path)
}

// validateFileMode checks a volume file mode is within 0–0777.
func validateFileMode(mode *int32, path *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0o777 || *mode < 0) {
		return field.ErrorList{field.Invalid(path, *mode, fileModeErrorMsg)}
	}
	return nil
}

// validatePortNumOrName checks an int-or-string port: 1–65535 or an
// IANA_SVC_NAME.
func validatePortNumOrName(port intstr.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Type == intstr.Int {
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			errs = append(errs, field.Invalid(path, port.IntValue(), msg))
		}
		return errs
	}
	for _, msg := range validation.IsValidPortName(port.StrVal) {
		errs = append(errs, field.Invalid(path, port.StrVal, msg))
	}
	return errs
}

// enumError reports an unsupported value, or a required one when empty.
func enumError[T ~string](value T, path *field.Path, valid ...T) *field.Error {
	if value == "" {
		return field.Required(path, "")
	}
	return oneOf(value, path, valid...)
}

// oneOf reports a value that is not one of valid.
func oneOf[T ~string](value T, path *field.Path, valid ...T) *field.Error {
	for _, v := range valid {
		if v == value {
			return nil
		}
	}
	return field.NotSupported(path, value, valid)
}

func appendIf(errs field.ErrorList, e *field.Error) field.ErrorList {
	if e != nil {
		return append(errs, e)
	}
	return errs
}
