package api

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// PrepareForCreate sets what the server owns on a new object: uid,
// creationTimestamp and generation 1; it clears resourceVersion, and
// deletionTimestamp. Status is kept: clients that create objects with a
// status (as kubectl create of a saved object does) see it dropped only for
// kinds whose status the server owns, by Default's per-kind rules.
// now is passed in so that callers and tests control the clock.
func PrepareForCreate(obj runtime.Object, now metav1.Time) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	m.SetUID(uuid.NewUUID())
	m.SetCreationTimestamp(now)
	m.SetGeneration(1)
	m.SetResourceVersion("")
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	return nil
}

// PrepareForUpdate carries over from old what a client cannot change through
// the main resource: uid, creationTimestamp, deletionTimestamp, generation —
// bumped by one when the spec (everything but metadata and status) changed —
// and, for kinds with a status subresource, the status itself.
// PrepareForStatusUpdate is the reverse for the status subresource.
func PrepareForUpdate(obj, old runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	om, err := meta.Accessor(old)
	if err != nil {
		return err
	}
	if r, err := ResourceFor(old); err == nil && r.HasSubresource("status") {
		if err := copyField(obj, old, "Status"); err != nil {
			return err
		}
	}
	keepServerMeta(m, om)
	m.SetGeneration(om.GetGeneration())
	if specChanged(obj, old) {
		m.SetGeneration(om.GetGeneration() + 1)
	}
	return nil
}

// PrepareForStatusUpdate keeps everything of old but the status (and the
// labels/annotations, which Kubernetes lets a status writer change too).
func PrepareForStatusUpdate(obj, old runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	status, err := fieldValue(obj, "Status")
	if err != nil {
		return err
	}
	labels, annotations := m.GetLabels(), m.GetAnnotations()
	rv := m.GetResourceVersion()
	// Start from old and put the new status on it.
	fresh := old.DeepCopyObject()
	if err := setFieldValue(fresh, "Status", status); err != nil {
		return err
	}
	fm, _ := meta.Accessor(fresh)
	fm.SetLabels(labels)
	fm.SetAnnotations(annotations)
	fm.SetResourceVersion(rv)
	return copyInto(obj, fresh)
}

func keepServerMeta(m, om metav1.Object) {
	m.SetUID(om.GetUID())
	m.SetCreationTimestamp(om.GetCreationTimestamp())
	m.SetDeletionTimestamp(om.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(om.GetDeletionGracePeriodSeconds())
	m.SetSelfLink("")
}

// specChanged reports whether anything but metadata and status differs.
func specChanged(obj, old runtime.Object) bool {
	a, b := obj.DeepCopyObject(), old.DeepCopyObject()
	for _, o := range []runtime.Object{a, b} {
		// Compare with type, metadata and status blanked.
		_ = clearField(o, "ObjectMeta")
		_ = clearField(o, "Status")
		o.GetObjectKind().SetGroupVersionKind(emptyGVK)
	}
	return !equality.Semantic.DeepEqual(a, b)
}
