package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of navarch's GitOps kinds.
const GroupName = "gitops.navarch.dev"

// SchemeGroupVersion is the group-version of this package's kinds.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

var (
	schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme registers this package's kinds into a scheme.
	AddToScheme = schemeBuilder.AddToScheme
)

// Resource returns the group-resource of a resource of this group.
func Resource(resource string) schema.GroupResource {
	return SchemeGroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &Source{}, &SourceList{})
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
