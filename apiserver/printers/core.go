package printers

import (
	"fmt"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

var namespacePrinter = printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		column("Status", "string", "The status of the namespace"),
		ageColumn,
	},
	cells: func(obj runtime.Object, now time.Time) []any {
		ns := obj.(*corev1.Namespace)
		return []any{ns.Name, string(ns.Status.Phase), since(ns.CreationTimestamp, now)}
	},
}

var configMapPrinter = printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		column("Data", "string", corev1.ConfigMap{}.SwaggerDoc()["data"]),
		ageColumn,
	},
	cells: func(obj runtime.Object, now time.Time) []any {
		cm := obj.(*corev1.ConfigMap)
		return []any{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), since(cm.CreationTimestamp, now)}
	},
}

var secretPrinter = printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		column("Type", "string", corev1.Secret{}.SwaggerDoc()["type"]),
		column("Data", "string", corev1.Secret{}.SwaggerDoc()["data"]),
		ageColumn,
	},
	cells: func(obj runtime.Object, now time.Time) []any {
		s := obj.(*corev1.Secret)
		return []any{s.Name, string(s.Type), int64(len(s.Data)), since(s.CreationTimestamp, now)}
	},
}

var serviceAccountPrinter = printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		column("Secrets", "string", corev1.ServiceAccount{}.SwaggerDoc()["secrets"]),
		ageColumn,
	},
	cells: func(obj runtime.Object, now time.Time) []any {
		sa := obj.(*corev1.ServiceAccount)
		return []any{sa.Name, int64(len(sa.Secrets)), since(sa.CreationTimestamp, now)}
	},
}

var leasePrinter = printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		column("Holder", "string", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]),
		ageColumn,
	},
	cells: func(obj runtime.Object, now time.Time) []any {
		l := obj.(*coordinationv1.Lease)
		holder := ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		return []any{l.Name, holder, since(l.CreationTimestamp, now)}
	},
}

var eventPrinter = printer{
	columns: []metav1.TableColumnDefinition{
		column("Last Seen", "string", corev1.Event{}.SwaggerDoc()["lastTimestamp"]),
		column("Type", "string", corev1.Event{}.SwaggerDoc()["type"]),
		column("Reason", "string", corev1.Event{}.SwaggerDoc()["reason"]),
		column("Object", "string", corev1.Event{}.SwaggerDoc()["involvedObject"]),
		wideColumn("Subobject", "string", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
		wideColumn("Source", "string", corev1.Event{}.SwaggerDoc()["source"]),
		column("Message", "string", corev1.Event{}.SwaggerDoc()["message"]),
		wideColumn("First Seen", "string", corev1.Event{}.SwaggerDoc()["firstTimestamp"]),
		wideColumn("Count", "string", corev1.Event{}.SwaggerDoc()["count"]),
		{Name: "Name", Type: "string", Format: "name", Priority: 1, Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
	},
	cells: func(obj runtime.Object, now time.Time) []any {
		e := obj.(*corev1.Event)
		first := since(e.FirstTimestamp, now)
		if e.FirstTimestamp.IsZero() {
			first = sinceMicro(e.EventTime, now)
		}
		last := since(e.LastTimestamp, now)
		if e.LastTimestamp.IsZero() {
			last = first
		}
		count := e.Count
		if e.Series != nil {
			last, count = sinceMicro(e.Series.LastObservedTime, now), e.Series.Count
		} else if count == 0 {
			count = 1 // Singleton events of the events.k8s.io API carry no count.
		}
		target := strings.ToLower(e.InvolvedObject.Kind)
		if e.InvolvedObject.Name != "" {
			target = fmt.Sprintf("%s/%s", target, e.InvolvedObject.Name)
		}
		return []any{
			last, e.Type, e.Reason, target, e.InvolvedObject.FieldPath,
			eventSource(e), strings.TrimSpace(e.Message), first, int64(count), e.Name,
		}
	},
}

// eventSource is "component, host", falling back to the reporting
// controller and instance of events written through events.k8s.io.
func eventSource(e *corev1.Event) string {
	component, host := e.Source.Component, e.Source.Host
	if component == "" {
		component = e.ReportingController
	}
	if host == "" {
		host = e.ReportingInstance
	}
	if host == "" {
		return component
	}
	return component + ", " + host
}
