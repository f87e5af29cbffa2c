package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/store"
)

// SystemNamespaces exist from the server's first start: Kubernetes' default,
// kube-system and kube-node-lease (node heartbeats), and navarch-system
// (navarch's Sources).
var SystemNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, corev1.NamespaceNodeLease, "navarch-system"}

// immortalNamespaces may not be deleted.
var immortalNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, "navarch-system"}

// ensureNamespaces creates the system namespaces that are missing, through
// the same admission as a client's create.
func (s *Server) ensureNamespaces(ctx context.Context) error {
	res, _ := api.LookupResource(corev1.SchemeGroupVersion.WithResource("namespaces"))
	rr := &resourceRequest{info: &RequestInfo{Verb: "create", Resource: res.Resource}, res: res, c: ctx}
	for _, name := range SystemNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := s.admitNew(rr, ns, "navarch", true); err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		err := s.store.Create(ctx, res.StorageKey("", name), ns)
		if err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	return nil
}

// serveFinalize answers PUT namespaces/<name>/finalize: the namespace
// controller's way to change spec.finalizers, which the main resource
// keeps. A namespace being deleted goes once its finalizers are gone.
func (s *Server) serveFinalize(rr *resourceRequest) {
	w, err := s.readWrite(rr)
	if err != nil {
		rr.fail(err)
		return
	}
	in := w.obj.(*corev1.Namespace)
	if err := checkName(rr, in); err != nil {
		rr.fail(err)
		return
	}
	out, err := s.update(rr, w.dryRun, func(cur runtime.Object) (runtime.Object, error) {
		ns := cur.DeepCopyObject().(*corev1.Namespace)
		if err := checkResourceVersion(rr, in.ResourceVersion, ns.ResourceVersion); err != nil {
			return nil, err
		}
		ns.Spec.Finalizers = in.Spec.Finalizers
		if errs := api.ValidateUpdate(ns, cur); len(errs) > 0 {
			return nil, apierrors.NewInvalid(rr.gk(), rr.info.Name, errs)
		}
		return s.fields.update(rr, cur, ns, w.manager, "finalize")
	})
	if err != nil {
		rr.fail(err)
		return
	}
	s.writeObject(rr, http.StatusOK, out)
}
