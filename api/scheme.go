package api

import (
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// Scheme knows every kind navarch serves, in every group-version it serves
// it. It is filled at package initialisation and read-only afterwards.
// It is filled in its variable initialiser, which runs before any init
// function of the package (the resource table's init reads it).
var Scheme = newScheme()

// Codecs builds encoders and decoders over Scheme.
var Codecs = serializer.NewCodecFactory(Scheme)

// ParameterCodec decodes query parameters (ListOptions, DeleteOptions …).
var ParameterCodec = runtime.NewParameterCodec(Scheme)

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(AddToScheme(s))
	return s
}

// AddToScheme registers every served kind, the meta/v1 option kinds and the
// unversioned Status into s.
func AddToScheme(s *runtime.Scheme) error {
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		appsv1.AddToScheme,
		coordinationv1.AddToScheme,
		discoveryv1.AddToScheme,
		gitopsv1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return err
		}
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return nil
}

// LegacyCodec encodes objects as JSON with their apiVersion and kind set to
// the given group-versions, and decodes any registered kind.
func LegacyCodec(gvs ...schema.GroupVersion) runtime.Codec {
	return Codecs.LegacyCodec(gvs...)
}
