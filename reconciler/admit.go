package reconciler

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/store"
)

// Admitter is the API server's admission, offered to the reconciler so
// that a revision's writes go through the same defaulting, bookkeeping,
// validation and allocation as a client's.
//
// Admit prepares one change of a plan and returns the store operations
// that make it, to be committed with the rest of the revision in one
// transaction; it writes nothing itself.
//
//   - ActionCreate: old is nil. obj is defaulted, prepared as a new object
//     (uid, creationTimestamp, generation, status) and validated, in place.
//     The ops create it, plus whatever the create allocates (a Service's
//     cluster IP and node ports, as ops on the allocators' keys).
//   - ActionUpdate: old is the live object. obj is defaulted, prepared as
//     an update of old (generation bumped when the spec changed, status and
//     allocated values kept) and validated as an update (immutable fields),
//     in place. The ops store it with old's resourceVersion as a
//     precondition, plus allocation changes.
//   - ActionDelete: obj is nil and old the live object. The ops delete it
//     with its resourceVersion as a precondition or, for an object that
//     cannot go at once (a Namespace, an object with finalizers), store it
//     with its deletionTimestamp set; plus the release of what it
//     allocated.
//
// Every op whose Object is obj must use obj itself, so that the
// transaction's revision lands in it. A validation failure is a
// *apierrors.StatusError of reason Invalid whose causes name the fields;
// any other error stops the sync.
type Admitter interface {
	Admit(ctx context.Context, action Action, res api.Resource, obj, old runtime.Object) ([]store.Op, error)
}

// AdmitFunc is a function that is an Admitter, such as a closure over the
// API server's own admission.
type AdmitFunc func(ctx context.Context, action Action, res api.Resource, obj, old runtime.Object) ([]store.Op, error)

// Admit implements Admitter.
func (f AdmitFunc) Admit(ctx context.Context, action Action, res api.Resource, obj, old runtime.Object) ([]store.Op, error) {
	return f(ctx, action, res, obj, old)
}

// FieldManager is the manager name the reconciler's writes are recorded
// under in managedFields.
const FieldManager = "navarch-reconciler"

// APIAdmitter admits with package api alone: api.Default,
// PrepareForCreate/PrepareForUpdate, Validate/ValidateUpdate, and
// Kubernetes' delete rules for namespaces and finalizers. It allocates
// nothing (no cluster IPs or node ports); the API server's own Admitter
// does, and replaces this one when the reconciler runs inside it.
type APIAdmitter struct {
	// Now is the clock for creation and deletion timestamps; nil means
	// time.Now.
	Now func() time.Time
}

var _ Admitter = (*APIAdmitter)(nil)

// Admit implements Admitter.
func (a *APIAdmitter) Admit(_ context.Context, action Action, res api.Resource, obj, old runtime.Object) ([]store.Op, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	ts := metav1.NewTime(now()).Rfc3339Copy()
	switch action {
	case ActionCreate:
		m := metaOf(obj)
		api.Default(obj)
		if err := api.PrepareForCreate(obj, ts); err != nil {
			return nil, err
		}
		if errs := api.Validate(obj); len(errs) > 0 {
			return nil, apierrors.NewInvalid(res.GroupVersionKind().GroupKind(), m.GetName(), errs)
		}
		return []store.Op{{Type: store.OpCreate, Key: res.StorageKey(m.GetNamespace(), m.GetName()), Object: obj}}, nil
	case ActionUpdate:
		m, om := metaOf(obj), metaOf(old)
		rv, err := store.ParseResourceVersion(om.GetResourceVersion())
		if err != nil {
			return nil, err
		}
		api.Default(obj)
		if err := api.PrepareForUpdate(obj, old); err != nil {
			return nil, err
		}
		m.SetResourceVersion(om.GetResourceVersion())
		if errs := api.ValidateUpdate(obj, old); len(errs) > 0 {
			return nil, apierrors.NewInvalid(res.GroupVersionKind().GroupKind(), m.GetName(), errs)
		}
		return []store.Op{{Type: store.OpUpdate, Key: res.StorageKey(m.GetNamespace(), m.GetName()), Object: obj, ResourceVersion: rv}}, nil
	case ActionDelete:
		return deleteOps(res, old, ts)
	}
	return nil, fmt.Errorf("admit: unknown action %q", action)
}

// deleteOps deletes old, or marks it deleted when it has to wait: a
// Namespace turns Terminating until the namespace controller has emptied
// it, an object with finalizers waits for their owners.
func deleteOps(res api.Resource, old runtime.Object, now metav1.Time) ([]store.Op, error) {
	om := metaOf(old)
	rv, err := store.ParseResourceVersion(om.GetResourceVersion())
	if err != nil {
		return nil, err
	}
	key := res.StorageKey(om.GetNamespace(), om.GetName())
	_, isNS := old.(*corev1.Namespace)
	if !isNS && len(om.GetFinalizers()) == 0 {
		return []store.Op{{Type: store.OpDelete, Key: key, ResourceVersion: rv}}, nil
	}
	next := old.DeepCopyObject()
	m := metaOf(next)
	m.SetDeletionTimestamp(&now)
	zero := int64(0)
	m.SetDeletionGracePeriodSeconds(&zero)
	if isNS {
		next.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating
	}
	return []store.Op{{Type: store.OpUpdate, Key: key, Object: next, ResourceVersion: rv}}, nil
}
