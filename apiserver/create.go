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
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/store"
)

// generateNameAttempts bounds the retries of a create whose generated name
// is taken.
const generateNameAttempts = 8

// serveCreate answers POST of a new object: decode, default, prepare,
// validate, check the namespace, track managed fields, store.
func (s *Server) serveCreate(rr *resourceRequest) {
	w, err := s.readWrite(rr)
	if err != nil {
		rr.fail(err)
		return
	}
	if err := rr.authorizeCreate(w.meta.GetName()); err != nil {
		rr.fail(err)
		return
	}
	if err := checkNamespace(rr, w.meta); err != nil {
		rr.fail(err)
		return
	}
	if err := s.create(rr, w.obj, w.manager, w.dryRun); err != nil {
		rr.fail(err)
		return
	}
	s.writeObject(rr, http.StatusCreated, w.obj)
}

// writeRequest is a decoded POST or PUT of an object.
type writeRequest struct {
	obj     runtime.Object
	meta    metav1.Object // obj's
	manager string
	dryRun  bool
}

// readWrite reads a POST or PUT: its options (see writeOptions) and the
// object of its body (see decodeRequestObject).
func (s *Server) readWrite(rr *resourceRequest) (*writeRequest, error) {
	manager, dryRun, err := rr.writeOptions()
	if err != nil {
		return nil, err
	}
	obj, err := s.decodeRequestObject(rr)
	if err != nil {
		return nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return &writeRequest{obj: obj, meta: m, manager: manager, dryRun: dryRun}, nil
}

// decodeRequestObject reads the body into a new object of the resource
// (see decodeBody).
func (s *Server) decodeRequestObject(rr *resourceRequest) (runtime.Object, error) {
	obj := rr.res.New()
	if err := s.decodeBody(rr, rr.res.GroupVersionKind(), obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// decodeBody reads the body (at most Options.MaxRequestBytes) into into,
// an object of kind gvk, honouring fieldValidation.
func (s *Server) decodeBody(rr *resourceRequest, gvk schema.GroupVersionKind, into runtime.Object) error {
	directive, err := fieldValidation(rr.r)
	if err != nil {
		return err
	}
	body, err := readBody(rr.r, s.opts.MaxRequestBytes)
	if err != nil {
		return err
	}
	return s.decoders.decodeObject(&rr.warn, bodyMediaType(rr.r), body, gvk, into, directive)
}

// checkNamespace fills in the request's namespace on the object, and
// refuses an object naming another one.
func checkNamespace(rr *resourceRequest, m metav1.Object) error {
	ns := rr.namespace()
	switch {
	case !rr.res.Namespaced:
		m.SetNamespace("")
	case m.GetNamespace() == "":
		m.SetNamespace(ns)
	case m.GetNamespace() != ns:
		return errNamespaceMismatch()
	}
	return nil
}

// create admits obj and stores it (unless dryRun); on success obj holds
// what was stored, with its resourceVersion. A Service's allocations are
// committed in the same transaction; when another writer takes one of its
// values first, or a generated name is taken, the request is admitted
// again.
func (s *Server) create(rr *resourceRequest, obj runtime.Object, manager string, dryRun bool) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	generate := m.GetName() == "" && m.GetGenerateName() != ""
	if m.GetResourceVersion() != "" {
		return apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	request := obj.DeepCopyObject()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := assign(obj, request.DeepCopyObject()); err != nil {
				return apierrors.NewInternalError(err)
			}
		}
		if generate {
			m.SetName(m.GetGenerateName() + utilrand.String(5))
		}
		if err := s.admitNew(rr, obj, manager, true); err != nil {
			return err
		}
		if dryRun {
			return nil
		}
		key := rr.res.StorageKey(m.GetNamespace(), m.GetName())
		if rr.plan.HasOps() {
			err = s.commitWithPlan(rr.ctx(), key, obj, 0, rr.plan)
		} else {
			err = s.store.Create(rr.ctx(), key, obj)
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errAllocationRaced) && attempt < allocationAttempts:
			continue
		case errors.Is(err, errAllocationRaced):
			return errRaceRetries(rr, m.GetName())
		case generate && errors.Is(err, store.ErrExists) && attempt < generateNameAttempts:
			continue
		case generate && errors.Is(err, store.ErrExists):
			return apierrors.NewGenerateNameConflict(rr.gr(), m.GetName(), 1)
		}
		return storeError(err, rr.gr(), m.GetName())
	}
}

// admitNew admits obj as a new object (see admitCreate) and records
// manager as the owner of its fields, in place.
func (s *Server) admitNew(rr *resourceRequest, obj runtime.Object, manager string, nsMustExist bool) error {
	if err := s.admitCreate(rr, obj, nsMustExist); err != nil {
		return err
	}
	tracked, err := s.fields.update(rr, rr.res.New(), obj, manager, "")
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	return assign(obj, tracked)
}

// admitCreate defaults, prepares and validates a new object, checks its
// namespace's lifecycle (see checkNamespaceLifecycle; the namespace must
// exist when nsMustExist), and plans a Service's allocations (see
// allocate).
func (s *Server) admitCreate(rr *resourceRequest, obj runtime.Object, nsMustExist bool) error {
	m, _ := meta.Accessor(obj)
	if m.GetName() == "" && m.GetGenerateName() != "" {
		// Validate a name of the length the generated one will have.
		m.SetName(m.GetGenerateName() + "xxxxx")
		defer m.SetName("")
	}
	api.Default(obj)
	if err := api.PrepareForCreate(obj, s.nowMeta()); err != nil {
		return apierrors.NewInternalError(err)
	}
	if errs := api.Validate(obj); len(errs) > 0 {
		return apierrors.NewInvalid(rr.gk(), m.GetName(), errs)
	}
	if err := s.checkNamespaceLifecycle(rr, m.GetNamespace(), m.GetName(), nsMustExist); err != nil {
		return err
	}
	return s.allocate(rr, obj, nil)
}

// checkNamespaceLifecycle refuses to create an object in a namespace that is being
// deleted (403), and — when mustExist — in one that does not exist (404),
// as Kubernetes' NamespaceLifecycle admission does.
func (s *Server) checkNamespaceLifecycle(rr *resourceRequest, namespace, name string, mustExist bool) error {
	if !rr.res.Namespaced {
		return nil
	}
	ns := &corev1.Namespace{}
	nsRes, _ := api.LookupResource(corev1.SchemeGroupVersion.WithResource("namespaces"))
	if err := s.store.Get(rr.ctx(), nsRes.StorageKey("", namespace), ns); err != nil {
		if errors.Is(err, store.ErrNotFound) && !mustExist {
			return nil
		}
		return storeError(err, nsRes.GroupResource(), namespace)
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		err := apierrors.NewForbidden(rr.gr(), name, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", namespace))
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    corev1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", namespace),
			Field:   "metadata.namespace",
		})
		return err
	}
	return nil
}

// nowMeta is the server's clock as a metav1.Time, to the second as the
// wire format keeps it.
func (s *Server) nowMeta() metav1.Time {
	return metav1.NewTime(s.now()).Rfc3339Copy()
}
