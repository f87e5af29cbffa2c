package apiserver

import (
	"errors"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/store"
)

// deleteAttempts bounds the retries of a delete that races with writes.
const deleteAttempts = 10

// serveUpdate answers PUT of an object or of its status subresource.
// Kubernetes creates on PUT for a few kinds only; navarch for none: a
// missing object is a 404.
func (s *Server) serveUpdate(rr *resourceRequest) {
	w, err := s.readWrite(rr)
	if err != nil {
		rr.fail(err)
		return
	}
	if err := checkName(rr, w.meta); err != nil {
		rr.fail(err)
		return
	}
	if err := checkNamespace(rr, w.meta); err != nil {
		rr.fail(err)
		return
	}
	out, err := s.update(rr, w.dryRun, func(cur runtime.Object) (runtime.Object, error) {
		return s.admitUpdate(rr, w.obj.DeepCopyObject(), cur, w.manager)
	})
	if err != nil {
		rr.fail(err)
		return
	}
	s.writeObject(rr, http.StatusOK, out)
}

// checkName fills in the URL's name on an object that names none, and
// refuses one that names another.
func checkName(rr *resourceRequest, m metav1.Object) error {
	switch m.GetName() {
	case rr.info.Name:
	case "":
		m.SetName(rr.info.Name)
	default:
		return errNameMismatch(m.GetName(), rr.info.Name)
	}
	return nil
}

// checkResourceVersion refuses (409) a write whose object names a
// resourceVersion, want, other than the stored object's, have; an empty
// want is an unconditional write.
func checkResourceVersion(rr *resourceRequest, want, have string) error {
	if want != "" && want != have {
		return apierrors.NewConflict(rr.gr(), rr.info.Name, errors.New(optimisticLockErrorMsg))
	}
	return nil
}

// admitUpdate turns obj, the client's new version of cur, into what is
// stored: the resourceVersion precondition, prepareUpdate and managed
// fields.
func (s *Server) admitUpdate(rr *resourceRequest, obj, cur runtime.Object, manager string) (runtime.Object, error) {
	if err := checkResourceVersion(rr, metaOf(obj).GetResourceVersion(), metaOf(cur).GetResourceVersion()); err != nil {
		return nil, err
	}
	if err := s.prepareUpdate(rr, obj, cur); err != nil {
		return nil, err
	}
	out, err := s.fields.update(rr, cur, obj, manager, rr.info.Subresource)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return out, nil
}

// prepareUpdate admits obj, the new version of cur however it was made
// (PUT, patch or apply), in place: defaults, Kubernetes' update
// preparation (of the main resource or of the status subresource), cur's
// resourceVersion, validation as an update and a Service's allocations
// (see allocate).
func (s *Server) prepareUpdate(rr *resourceRequest, obj, cur runtime.Object) error {
	api.Default(obj)
	var err error
	if rr.info.Subresource == "status" {
		err = api.PrepareForStatusUpdate(obj, cur)
	} else {
		err = api.PrepareForUpdate(obj, cur)
	}
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	metaOf(obj).SetResourceVersion(metaOf(cur).GetResourceVersion())
	if errs := api.ValidateUpdate(obj, cur); len(errs) > 0 {
		return apierrors.NewInvalid(rr.gk(), rr.info.Name, errs)
	}
	return s.allocate(rr, obj, cur)
}

// errDeleteInstead stops a GuaranteedUpdate whose result is an object
// ready to go: being deleted, with its last finalizer removed.
type errDeleteInstead struct {
	cur runtime.Object // as stored
	rv  int64
}

func (e *errDeleteInstead) Error() string { return "delete instead of update" }

// errTxnInstead stops a GuaranteedUpdate whose result must be written
// together with allocation changes: a Service taking or giving back
// cluster IPs or node ports.
type errTxnInstead struct {
	obj runtime.Object
	rv  int64 // 0: create
}

func (e *errTxnInstead) Error() string { return "write in a transaction instead of update" }

// update reads the object, lets prepare turn it into its new version and
// stores that, retrying on concurrent writes. A new version that removes
// the last finalizer of an object being deleted deletes it instead, as
// Kubernetes does. With dryRun nothing is written.
func (s *Server) update(rr *resourceRequest, dryRun bool, prepare func(cur runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	out, _, err := s.write(rr, dryRun, false, func(cur runtime.Object, _ bool) (runtime.Object, error) {
		return prepare(cur)
	})
	return out, err
}

// write is update for writes that may also create (mayCreate: server-side
// apply), when prepare is called with exists false and an empty object.
// created tells whether the object was created. A Service write that
// changes allocations (rr.plan) is committed in one transaction with
// them, and prepared again when another writer took one of its values.
func (s *Server) write(rr *resourceRequest, dryRun, mayCreate bool, prepare func(cur runtime.Object, exists bool) (runtime.Object, error)) (out runtime.Object, created bool, err error) {
	ctx, key := rr.ctx(), rr.key()
	if dryRun {
		cur := rr.res.New()
		err := s.store.Get(ctx, key, cur)
		exists := err == nil
		if err != nil && (!mayCreate || !errors.Is(err, store.ErrNotFound)) {
			return nil, false, storeError(err, rr.gr(), rr.info.Name)
		}
		if exists {
			if err := rr.checkStoredPod(cur); err != nil {
				return nil, false, err
			}
		}
		out, err := prepare(cur, exists)
		return out, !exists, err
	}
	for attempt := 0; ; attempt++ {
		out := rr.res.New()
		err := s.store.GuaranteedUpdate(ctx, key, out, mayCreate, func(cur runtime.Object, exists bool) (runtime.Object, error) {
			created = !exists
			if exists {
				if err := rr.checkStoredPod(cur); err != nil {
					return nil, err
				}
			}
			rr.plan = nil
			obj, err := prepare(cur, exists)
			if err != nil {
				return nil, err
			}
			var rv int64
			if exists {
				rv, _ = store.ParseResourceVersion(metaOf(cur).GetResourceVersion())
			}
			if exists && shouldDeleteDuringUpdate(obj, cur) {
				return nil, &errDeleteInstead{cur: cur, rv: rv}
			}
			if rr.plan.HasOps() {
				return nil, &errTxnInstead{obj: obj, rv: rv}
			}
			return obj, nil
		})
		var (
			del *errDeleteInstead
			txn *errTxnInstead
		)
		switch {
		case errors.As(err, &del):
			out = rr.res.New()
			err = s.deleteObject(ctx, key, del.cur, out, del.rv)
		case errors.As(err, &txn):
			out = txn.obj
			err = s.commitWithPlan(ctx, key, txn.obj, txn.rv, rr.plan)
			if errors.Is(err, store.ErrExists) && txn.rv == 0 && !errors.Is(err, errAllocationRaced) {
				err = fmt.Errorf("%w: %w", store.ErrConflict, err) // created meanwhile: prepare again
			}
		default:
			if err != nil {
				return nil, false, storeError(err, rr.gr(), rr.info.Name)
			}
			return out, created, nil
		}
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, errAllocationRaced)) && attempt < deleteAttempts {
			continue
		}
		if errors.Is(err, errAllocationRaced) {
			return nil, false, errRaceRetries(rr, rr.info.Name)
		}
		if err != nil {
			return nil, false, storeError(err, rr.gr(), rr.info.Name)
		}
		return out, created, nil
	}
}

// shouldDeleteDuringUpdate reports whether an update leaves an object that
// is being deleted without finalizers, and without a grace period still
// running (a pod the kubelet has not yet stopped).
func shouldDeleteDuringUpdate(obj, old runtime.Object) bool {
	m, om := metaOf(obj), metaOf(old)
	if m == nil || om == nil || len(m.GetFinalizers()) > 0 || om.GetDeletionTimestamp() == nil {
		return false
	}
	if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
		return false
	}
	grace := om.GetDeletionGracePeriodSeconds()
	return grace == nil || *grace == 0
}

// metaOf returns obj's metadata, or nil for an object without.
func metaOf(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	return m
}
