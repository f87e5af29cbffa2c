package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/navarch/navarch/store"
)

// defaultPodGracePeriod is used for a pod without
// terminationGracePeriodSeconds.
const defaultPodGracePeriod = 30

// deleteOptions reads DeleteOptions from the body or, without one, from the
// query, and checks them.
func (s *Server) deleteOptions(rr *resourceRequest) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	body, err := readBody(rr.r, s.opts.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		gvk := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		if err := s.decoders.decodeOptions(bodyMediaType(rr.r), body, gvk, opts); err != nil {
			return nil, err
		}
	} else {
		q := rr.query()
		if err := metav1.Convert_url_Values_To_v1_DeleteOptions(&q, opts, nil); err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	}
	var errs field.ErrorList
	//nolint:staticcheck // OrphanDependents is deprecated but still sent by old clients.
	if opts.OrphanDependents != nil && opts.PropagationPolicy != nil {
		errs = append(errs, field.Invalid(field.NewPath("propagationPolicy"), *opts.PropagationPolicy, "orphanDependents and deletionPropagation cannot be both set"))
	}
	if p := opts.PropagationPolicy; p != nil && *p != metav1.DeletePropagationOrphan && *p != metav1.DeletePropagationBackground && *p != metav1.DeletePropagationForeground {
		errs = append(errs, field.NotSupported(field.NewPath("propagationPolicy"), *p, []string{string(metav1.DeletePropagationForeground), string(metav1.DeletePropagationBackground), string(metav1.DeletePropagationOrphan)}))
	}
	for _, v := range opts.DryRun {
		if v != metav1.DryRunAll {
			errs = append(errs, field.NotSupported(field.NewPath("dryRun"), v, []string{metav1.DryRunAll}))
		}
	}
	if len(errs) > 0 {
		return nil, invalidOptions("DeleteOptions", errs...)
	}
	if _, err := rr.dryRun(); err != nil {
		return nil, err
	}
	if len(opts.DryRun) == 0 && len(rr.query()["dryRun"]) > 0 {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return opts, nil
}

// serveDelete answers DELETE of one object.
func (s *Server) serveDelete(rr *resourceRequest) {
	opts, err := s.deleteOptions(rr)
	if err != nil {
		rr.fail(err)
		return
	}
	obj, deleted, err := s.delete(rr, rr.info.Name, opts)
	if err != nil {
		rr.fail(err)
		return
	}
	code := http.StatusOK
	//nolint:staticcheck // OrphanDependents: Kubernetes answers 202 for this legacy form.
	if !deleted && opts.OrphanDependents != nil && !*opts.OrphanDependents {
		code = http.StatusAccepted
	}
	if deleted && !returnsDeletedObject(rr) {
		writeSuccess(rr, code, &metav1.Status{Details: &metav1.StatusDetails{
			Name: rr.info.Name, Group: rr.res.Group, Kind: rr.res.Resource, UID: metaOf(obj).GetUID(),
		}})
		return
	}
	s.writeObject(rr, code, obj)
}

// returnsDeletedObject: Kubernetes answers the delete of a pod or namespace
// with the object, of other kinds with a Status.
func returnsDeletedObject(rr *resourceRequest) bool {
	return rr.res.Group == "" && (rr.res.Resource == "pods" || rr.res.Resource == "namespaces")
}

// delete deletes the named object as Kubernetes does: the preconditions,
// then either at once, or — for a pod with a grace period, or an object
// with finalizers (including those the propagation policy asks for) — by
// setting its deletionTimestamp and leaving the rest to the kubelet, the
// garbage collector or the finalizers' owners. deleted tells which; obj is
// the object's last or current state. A Service deleted at once gives
// back its cluster IP and node ports in the same transaction.
func (s *Server) delete(rr *resourceRequest, name string, opts *metav1.DeleteOptions) (obj runtime.Object, deleted bool, err error) {
	ctx := rr.ctx()
	key := rr.res.StorageKey(rr.namespace(), name)
	dryRun := len(opts.DryRun) > 0
	for attempt := 0; ; attempt++ {
		cur := rr.res.New()
		if err := s.store.Get(ctx, key, cur); err != nil {
			return nil, false, storeError(err, rr.gr(), name)
		}
		if err := rr.checkStoredPod(cur); err != nil {
			return nil, false, err
		}
		if err := checkPreconditions(rr, name, cur, opts.Preconditions); err != nil {
			return nil, false, err
		}
		if err := checkDeletable(rr, cur); err != nil {
			return nil, false, err
		}
		rv, _ := store.ParseResourceVersion(metaOf(cur).GetResourceVersion())
		next, pending, err := s.prepareDelete(cur, opts)
		if err != nil {
			return nil, false, err
		}
		if dryRun {
			if pending {
				return next, false, nil
			}
			return cur, true, nil
		}
		if pending {
			if next == nil {
				// Nothing to change: the deletion is already under way.
				return cur, false, nil
			}
			err := s.store.Update(ctx, key, next)
			if errors.Is(err, store.ErrConflict) && attempt < deleteAttempts {
				continue
			}
			if err != nil {
				return nil, false, storeError(err, rr.gr(), name)
			}
			return next, false, nil
		}
		out := rr.res.New()
		err = s.deleteObject(ctx, key, cur, out, rv)
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, errAllocationRaced)) && attempt < deleteAttempts {
			continue
		}
		if errors.Is(err, errAllocationRaced) {
			return nil, false, errRaceRetries(rr, name)
		}
		if err != nil {
			return nil, false, storeError(err, rr.gr(), name)
		}
		return out, true, nil
	}
}

// checkPreconditions compares the uid and resourceVersion preconditions of
// a delete with the object.
func checkPreconditions(rr *resourceRequest, name string, cur runtime.Object, p *metav1.Preconditions) error {
	if p == nil {
		return nil
	}
	m := metaOf(cur)
	if p.UID != nil && *p.UID != m.GetUID() {
		return apierrors.NewConflict(rr.gr(), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, m.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(rr.gr(), name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, m.GetResourceVersion()))
	}
	return nil
}

// prepareDelete decides how cur goes: pending reports a deletion that waits
// (grace period or finalizers); next is the object to store for it (nil
// when cur already says all).
func (s *Server) prepareDelete(cur runtime.Object, opts *metav1.DeleteOptions) (next runtime.Object, pending bool, err error) {
	obj := cur.DeepCopyObject()
	m := metaOf(obj)
	changed := false
	if f := gcFinalizers(m.GetFinalizers(), opts); !slices.Equal(f, m.GetFinalizers()) {
		m.SetFinalizers(f)
		changed = true
	}
	now := s.now()

	if ns, ok := obj.(*corev1.Namespace); ok {
		// A namespace stays, Terminating, until the namespace controller
		// has emptied it and removed its spec.finalizers.
		if m.GetDeletionTimestamp() == nil {
			ts := metav1.NewTime(now).Rfc3339Copy()
			m.SetDeletionTimestamp(&ts)
			m.SetDeletionGracePeriodSeconds(ptrInt64(0))
			ns.Status.Phase = corev1.NamespaceTerminating
			if len(ns.Spec.Finalizers) > 0 || len(m.GetFinalizers()) > 0 {
				return obj, true, nil
			}
			return nil, false, nil
		}
		if len(ns.Spec.Finalizers) > 0 {
			return nil, false, apierrors.NewConflict(corev1.Resource("namespaces"), ns.Name,
				errors.New("The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system."))
		}
	}

	if grace, graceful := gracePeriod(obj, opts); graceful {
		cg := m.GetDeletionGracePeriodSeconds()
		if m.GetDeletionTimestamp() == nil || cg == nil || grace < *cg {
			// Start the graceful deletion, or shorten it.
			ts := metav1.NewTime(now.Add(time.Duration(grace) * time.Second)).Rfc3339Copy()
			if old := m.GetDeletionTimestamp(); old != nil && old.Before(&ts) {
				ts = *old
			}
			m.SetDeletionTimestamp(&ts)
			m.SetDeletionGracePeriodSeconds(ptrInt64(grace))
			changed = true
		}
		return orNil(obj, changed), true, nil
	}

	if len(m.GetFinalizers()) > 0 {
		if m.GetDeletionTimestamp() == nil {
			ts := metav1.NewTime(now).Rfc3339Copy()
			m.SetDeletionTimestamp(&ts)
			changed = true
		}
		if g := m.GetDeletionGracePeriodSeconds(); g == nil || *g != 0 {
			m.SetDeletionGracePeriodSeconds(ptrInt64(0))
			changed = true
		}
		return orNil(obj, changed), true, nil
	}
	return nil, false, nil
}

func orNil(obj runtime.Object, changed bool) runtime.Object {
	if changed {
		return obj
	}
	return nil
}

// gracePeriod returns the grace period of a pod's deletion and whether it
// is graceful at all (a pod never bound to a node, or already finished, or
// asked with 0, goes at once). Other kinds are never graceful.
func gracePeriod(obj runtime.Object, opts *metav1.DeleteOptions) (int64, bool) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return 0, false
	}
	grace := int64(defaultPodGracePeriod)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if grace < 0 {
		grace = 1
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		grace = 0
	}
	return grace, grace > 0
}

// gcFinalizers returns the finalizers of an object being deleted with the
// garbage collector's finalizers set as the propagation policy asks:
// "orphan" for Orphan, "foregroundDeletion" for Foreground, neither for
// Background (the default). Without a policy an orphan finalizer already
// present stays.
func gcFinalizers(finalizers []string, opts *metav1.DeleteOptions) []string {
	orphan := slices.Contains(finalizers, metav1.FinalizerOrphanDependents)
	foreground := slices.Contains(finalizers, metav1.FinalizerDeleteDependents)
	//nolint:staticcheck // OrphanDependents is deprecated but still honoured.
	switch {
	case opts.PropagationPolicy != nil:
		orphan = *opts.PropagationPolicy == metav1.DeletePropagationOrphan
		foreground = *opts.PropagationPolicy == metav1.DeletePropagationForeground
	case opts.OrphanDependents != nil:
		orphan, foreground = *opts.OrphanDependents, false
	}
	out := make([]string, 0, len(finalizers)+1)
	for _, f := range finalizers {
		if f != metav1.FinalizerOrphanDependents && f != metav1.FinalizerDeleteDependents {
			out = append(out, f)
		}
	}
	if orphan {
		out = append(out, metav1.FinalizerOrphanDependents)
	}
	if foreground {
		out = append(out, metav1.FinalizerDeleteDependents)
	}
	if len(out) == 0 && finalizers == nil {
		return nil
	}
	return out
}

// checkDeletable refuses to delete the namespaces the cluster needs (403),
// as Kubernetes' NamespaceLifecycle admission does.
func checkDeletable(rr *resourceRequest, cur runtime.Object) error {
	ns, ok := cur.(*corev1.Namespace)
	if ok && slices.Contains(immortalNamespaces, ns.Name) {
		return apierrors.NewForbidden(rr.gr(), ns.Name, errors.New("this namespace may not be deleted"))
	}
	return nil
}

func ptrInt64(v int64) *int64 { return &v }

// serveDeleteCollection answers DELETE of a collection: every object the
// list options select is deleted with the delete options.
func (s *Server) serveDeleteCollection(rr *resourceRequest) {
	lopts, err := listOptions(rr)
	if err != nil {
		rr.fail(err)
		return
	}
	opts, err := s.deleteOptions(rr)
	if err != nil {
		rr.fail(err)
		return
	}
	pred, err := predicate(rr, lopts)
	if err != nil {
		rr.fail(err)
		return
	}
	res, err := s.store.List(rr.ctx(), rr.prefix(), store.ListOptions{Predicate: pred}, rr.res.New)
	if err != nil {
		rr.fail(storeError(err, rr.gr(), ""))
		return
	}
	for _, item := range res.Items {
		m := metaOf(item)
		sub := *rr
		info := *rr.info
		info.Namespace, info.Name = m.GetNamespace(), m.GetName()
		sub.info = &info
		if _, _, err := s.delete(&sub, m.GetName(), opts); err != nil && !apierrors.IsNotFound(err) {
			rr.fail(err)
			return
		}
	}
	writeSuccess(rr, http.StatusOK, &metav1.Status{Details: &metav1.StatusDetails{Group: rr.res.Group, Kind: rr.res.Resource}})
}
