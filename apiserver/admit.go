package apiserver

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/store"
)

// The actions Admit takes, as the reconciler names them.
const (
	AdmitCreate = "create"
	AdmitUpdate = "update"
	AdmitDelete = "delete"
)

// Admit is the server's admission for writers inside the process (the
// reconciler, which commits a whole revision in one transaction): it
// prepares one change exactly as a client's request would be prepared and
// returns the store operations that make it, writing nothing itself.
//
//   - AdmitCreate (old nil): obj is defaulted, prepared (uid, timestamps,
//     generation, status), validated, given its cluster IP and node ports
//     if it is a Service, and given managedFields for manager, in place;
//     the ops create it and, for a Service, the keys of its allocations. A namespace being deleted refuses new objects
//     (403); a namespace that does not exist yet is not checked, since the
//     same transaction may create it.
//   - AdmitUpdate: obj is the new version of the live object old; it is
//     defaulted, prepared as an update (generation, status and allocated
//     values kept), validated as an update, given the node ports a new
//     type needs, and its managedFields updated, in place; the ops store
//     it with old's resourceVersion as a precondition, and take or release
//     a Service's allocations.
//   - AdmitDelete (obj nil): the op deletes old with its resourceVersion as
//     a precondition or, for an object that has to wait (a Namespace, an
//     object with finalizers, a pod bound to a node), stores it with its
//     deletionTimestamp set. A Service deleted at once releases its
//     allocations in the same ops.
//
// Services admitted one after another (a revision) never get the same
// cluster IP or node port: the values planned for one are kept from the
// others for a minute (alloc.Reservations), until their transaction has
// surely committed or failed. Allocation keys are created only if absent,
// so a transaction whose values another writer took meanwhile fails with
// store.ErrExists; the caller admits again.
//
// Ops whose Object is obj use obj itself, so that the transaction's
// revision lands in it. Validation failures are 422 Invalid StatusErrors
// naming the fields.
func (s *Server) Admit(ctx context.Context, action string, res api.Resource, obj, old runtime.Object, manager string) ([]store.Op, error) {
	m := metaOf(obj)
	if m == nil {
		m = metaOf(old)
	}
	if m == nil {
		return nil, fmt.Errorf("admit %s %s: object without metadata", action, res.Resource)
	}
	rr := &resourceRequest{
		info: &RequestInfo{Verb: action, APIGroup: res.Group, APIVersion: res.Version, Resource: res.Resource,
			Namespace: m.GetNamespace(), Name: m.GetName()},
		res: res, c: ctx, batch: true,
	}
	key := res.StorageKey(m.GetNamespace(), m.GetName())
	switch action {
	case AdmitCreate:
		if m.GetResourceVersion() != "" {
			return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
		}
		if err := s.admitNew(rr, obj, manager, false); err != nil {
			return nil, err
		}
		return append([]store.Op{{Type: store.OpCreate, Key: key, Object: obj}}, planOps(rr.plan)...), nil
	case AdmitUpdate:
		rv, err := store.ParseResourceVersion(metaOf(old).GetResourceVersion())
		if err != nil {
			return nil, err
		}
		m.SetResourceVersion("")
		out, err := s.admitUpdate(rr, obj, old, manager)
		if err != nil {
			return nil, err
		}
		if err := assign(obj, out); err != nil {
			return nil, err
		}
		return append([]store.Op{{Type: store.OpUpdate, Key: key, Object: obj, ResourceVersion: rv}}, planOps(rr.plan)...), nil
	case AdmitDelete:
		rv, err := store.ParseResourceVersion(m.GetResourceVersion())
		if err != nil {
			return nil, err
		}
		next, pending, err := s.prepareDelete(old, &metav1.DeleteOptions{})
		switch {
		case err != nil:
			return nil, err
		case pending && next == nil:
			return nil, nil
		case pending:
			return []store.Op{{Type: store.OpUpdate, Key: key, Object: next, ResourceVersion: rv}}, nil
		}
		release, err := s.releasePlan(ctx, old)
		if err != nil {
			return nil, storeError(err, res.GroupResource(), m.GetName())
		}
		return append([]store.Op{{Type: store.OpDelete, Key: key, ResourceVersion: rv}}, planOps(release)...), nil
	}
	return nil, fmt.Errorf("admit: unknown action %q", action)
}
