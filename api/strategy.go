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
// deletionTimestamp. For kinds whose status the server owns it resets the
// status as Kubernetes does on create: a Pod starts Pending with its QoS
// class computed (call Default first, which fills requests from limits); a
// Namespace starts Active with the "kubernetes" finalizer in
// spec.finalizers; Services, Deployments, ReplicaSets and Sources start with
// an empty status. Other kinds (a Node registered with its status by its
// kubelet, an Event) keep theirs.
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
	prepareKindForCreate(obj)
	return nil
}

// PrepareForUpdate carries over from old what a client cannot change through
// the main resource: uid, creationTimestamp, deletionTimestamp, generation —
// bumped by one when the spec (everything but metadata and status) changed —
// and, for kinds with a status subresource, the status itself. Per kind, as
// Kubernetes does: a Namespace keeps its spec.finalizers (changed through
// the finalize subresource only); a Service keeps the cluster IPs, node
// ports and health-check node port the server allocated when the update
// leaves them out, and drops those its new type no longer uses.
// An update without a resourceVersion is unconditional: obj takes old's, so
// that the store's precondition and ValidateUpdate see the current one.
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
	if m.GetResourceVersion() == "" {
		m.SetResourceVersion(om.GetResourceVersion())
	}
	prepareKindForUpdate(obj, old)
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
