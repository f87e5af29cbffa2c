package printers

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// defaultPrinter serves every kind without columns of its own.
var defaultPrinter = printer{
	columns: []metav1.TableColumnDefinition{nameColumn, ageColumn},
	cells: func(obj runtime.Object, now time.Time) []any {
		return []any{name(obj), age(obj, now)}
	},
}

// printerFor returns the printer of obj's kind; obj may be nil.
func printerFor(obj runtime.Object) printer {
	switch obj.(type) {
	case *corev1.Pod:
		return podPrinter
	case *appsv1.Deployment:
		return deploymentPrinter
	case *appsv1.ReplicaSet:
		return replicaSetPrinter
	case *corev1.Node:
		return nodePrinter
	case *corev1.Service:
		return servicePrinter
	case *corev1.Namespace:
		return namespacePrinter
	case *corev1.Endpoints:
		return endpointsPrinter
	case *discoveryv1.EndpointSlice:
		return endpointSlicePrinter
	case *corev1.ConfigMap:
		return configMapPrinter
	case *corev1.Secret:
		return secretPrinter
	case *corev1.Event:
		return eventPrinter
	case *coordinationv1.Lease:
		return leasePrinter
	case *corev1.ServiceAccount:
		return serviceAccountPrinter
	case *gitopsv1alpha1.Source:
		return sourcePrinter
	}
	return defaultPrinter
}
