package api

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// SelectableFields returns obj's labels and the fields a field selector may
// name for its kind, as Kubernetes' registries expose them: metadata.name
// for every kind and metadata.namespace for namespaced ones; for Pods
// spec.nodeName, spec.restartPolicy, spec.schedulerName,
// spec.serviceAccountName, spec.hostNetwork, status.phase, status.podIP and
// status.nominatedNodeName; for Nodes spec.unschedulable; for Events
// involvedObject.{kind,namespace,name,uid,apiVersion,resourceVersion,
// fieldPath}, reason, reportingComponent, source and type; for Secrets type;
// for Namespaces status.phase; for ReplicaSets status.replicas; for
// Services spec.clusterIP and spec.type. A field not in the set is not
// selectable (the API server answers 400). It fails only for an object
// without metadata.
func SelectableFields(obj runtime.Object) (labels.Set, fields.Set, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	set := fields.Set{"metadata.name": m.GetName()}
	namespaced := m.GetNamespace() != ""
	if r, err := ResourceFor(obj); err == nil {
		namespaced = r.Namespaced
	}
	if namespaced {
		set["metadata.namespace"] = m.GetNamespace()
	}
	for k, v := range kindFields(obj) {
		set[k] = v
	}
	return labels.Set(m.GetLabels()), set, nil
}

func kindFields(obj runtime.Object) fields.Set {
	switch o := obj.(type) {
	case *corev1.Pod:
		podIP := o.Status.PodIP
		if len(o.Status.PodIPs) > 0 {
			podIP = o.Status.PodIPs[0].IP
		}
		return fields.Set{
			"spec.nodeName":            o.Spec.NodeName,
			"spec.restartPolicy":       string(o.Spec.RestartPolicy),
			"spec.schedulerName":       o.Spec.SchedulerName,
			"spec.serviceAccountName":  o.Spec.ServiceAccountName,
			"spec.hostNetwork":         strconv.FormatBool(o.Spec.HostNetwork),
			"status.phase":             string(o.Status.Phase),
			"status.podIP":             podIP,
			"status.nominatedNodeName": o.Status.NominatedNodeName,
		}
	case *corev1.Node:
		return fields.Set{"spec.unschedulable": strconv.FormatBool(o.Spec.Unschedulable)}
	case *corev1.Event:
		source := o.Source.Component
		if source == "" {
			source = o.ReportingController
		}
		return fields.Set{
			"involvedObject.kind":            o.InvolvedObject.Kind,
			"involvedObject.namespace":       o.InvolvedObject.Namespace,
			"involvedObject.name":            o.InvolvedObject.Name,
			"involvedObject.uid":             string(o.InvolvedObject.UID),
			"involvedObject.apiVersion":      o.InvolvedObject.APIVersion,
			"involvedObject.resourceVersion": o.InvolvedObject.ResourceVersion,
			"involvedObject.fieldPath":       o.InvolvedObject.FieldPath,
			"reason":                         o.Reason,
			"reportingComponent":             o.ReportingController,
			"source":                         source,
			"type":                           o.Type,
		}
	case *corev1.Secret:
		return fields.Set{"type": string(o.Type)}
	case *corev1.Namespace:
		return fields.Set{"status.phase": string(o.Status.Phase)}
	case *appsv1.ReplicaSet:
		return fields.Set{"status.replicas": strconv.Itoa(int(o.Status.Replicas))}
	case *corev1.Service:
		return fields.Set{"spec.clusterIP": o.Spec.ClusterIP, "spec.type": string(o.Spec.Type)}
	}
	return nil
}
