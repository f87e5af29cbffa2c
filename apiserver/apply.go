package apiserver

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/navarch/navarch/store"
)

// serveApply answers a server-side apply (application/apply-patch+yaml):
// the patch is the manager's whole intent; fields it owns and leaves out
// are removed, fields others own with other values are conflicts (409)
// unless force is set. A missing object is created (201).
func (s *Server) serveApply(rr *resourceRequest, p *patchRequest) {
	patch, err := s.decodeApplyPatch(rr, p)
	if err != nil {
		rr.fail(err)
		return
	}
	force := p.opts.Force != nil && *p.opts.Force
	out, created, err := s.write(rr, p.dryRun, true, func(cur runtime.Object, exists bool) (runtime.Object, error) {
		if !exists {
			if rr.info.Subresource != "" {
				return nil, storeError(store.ErrNotFound, rr.gr(), rr.info.Name)
			}
			return s.applyCreate(rr, patch, p.manager, force)
		}
		return s.applyUpdate(rr, cur, patch, p.manager, force)
	})
	if err != nil {
		rr.fail(err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	s.writeObject(rr, code, out)
}

// decodeApplyPatch reads an apply patch: YAML (or JSON) of a partial object
// of the resource's kind, naming the object of the URL.
func (s *Server) decodeApplyPatch(rr *resourceRequest, p *patchRequest) (*unstructured.Unstructured, error) {
	patch := &unstructured.Unstructured{Object: map[string]any{}}
	if err := yaml.Unmarshal(p.body, &patch.Object); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	if patch.Object == nil {
		return nil, apierrors.NewBadRequest("error decoding YAML: the patch is empty")
	}
	if p.directive != "Ignore" {
		if err := yaml.UnmarshalStrict(p.body, &map[string]any{}); err != nil {
			if p.directive == "Strict" {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("error strict decoding YAML: %v", err))
			}
			rr.warn.add(err.Error())
		}
	}
	gvk := patch.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, apierrors.NewBadRequest("apiVersion and kind are required in an apply patch")
	}
	if gvk != rr.res.GroupVersionKind() {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: the kind of the patch does not match the request", gvk.Kind, gvk.Version, rr.res.Kind))
	}
	if err := checkName(rr, patch); err != nil {
		return nil, err
	}
	if err := checkNamespace(rr, patch); err != nil {
		return nil, err
	}
	return patch, nil
}

// applyCreate creates an object from an apply patch.
func (s *Server) applyCreate(rr *resourceRequest, patch *unstructured.Unstructured, manager string, force bool) (runtime.Object, error) {
	obj, err := s.fields.apply(rr, rr.res.New(), patch, manager, force)
	if err != nil {
		return nil, applyError(err)
	}
	if err := s.admitCreate(rr, obj, true); err != nil {
		return nil, err
	}
	return obj, nil
}

// applyUpdate merges an apply patch into the current object and admits the
// result as an update (see prepareUpdate).
func (s *Server) applyUpdate(rr *resourceRequest, cur runtime.Object, patch *unstructured.Unstructured, manager string, force bool) (runtime.Object, error) {
	obj, err := s.fields.apply(rr, cur.DeepCopyObject(), patch, manager, force)
	if err != nil {
		return nil, applyError(err)
	}
	if err := s.prepareUpdate(rr, obj, cur); err != nil {
		return nil, err
	}
	return obj, nil
}

// applyError keeps the field manager's API errors (409 conflicts with their
// causes, 400s) and words the others, which come from a patch that does
// not fit the schema, as 400.
func applyError(err error) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return err
	}
	return apierrors.NewBadRequest(err.Error())
}
