package apiserver

import (
	"encoding/json"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// patchRequest is a decoded PATCH request.
type patchRequest struct {
	mediaType string
	body      []byte
	opts      metav1.PatchOptions
	directive string
	dryRun    bool
	manager   string
}

// servePatch answers PATCH of an object or of its status subresource:
// JSON patch, merge patch, strategic merge patch (a merge patch for
// navarch's own kinds, which have no patch strategies) and server-side
// apply.
func (s *Server) servePatch(rr *resourceRequest) {
	p, err := s.readPatch(rr)
	if err != nil {
		rr.fail(err)
		return
	}
	if p.mediaType == mediaApplyPatchYAML {
		s.serveApply(rr, p)
		return
	}
	out, err := s.update(rr, p.dryRun, func(cur runtime.Object) (runtime.Object, error) {
		obj, err := s.applyPatch(rr, p, cur)
		if err != nil {
			return nil, err
		}
		return s.admitUpdate(rr, obj, cur, p.manager)
	})
	if err != nil {
		rr.fail(err)
		return
	}
	s.writeObject(rr, http.StatusOK, out)
}

// readPatch reads and checks the options and body of a PATCH.
func (s *Server) readPatch(rr *resourceRequest) (*patchRequest, error) {
	p := &patchRequest{mediaType: bodyMediaType(rr.r)}
	q := rr.query()
	if err := metav1.Convert_url_Values_To_v1_PatchOptions(&q, &p.opts, nil); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	var err error
	if p.manager, p.dryRun, err = rr.writeOptions(); err != nil {
		return nil, err
	}
	if p.directive, err = fieldValidation(rr.r); err != nil {
		return nil, err
	}
	switch p.mediaType {
	case mediaJSONPatch, mediaMergePatch, mediaStrategicPatch:
		if p.opts.Force != nil {
			return nil, invalidOptions("PatchOptions", field.Forbidden(field.NewPath("force"), "may not be specified for non-apply patch"))
		}
	case mediaApplyPatchYAML:
		if p.opts.FieldManager == "" {
			return nil, invalidOptions("PatchOptions", field.Required(field.NewPath("fieldManager"), "is required for apply patch"))
		}
	default:
		return nil, errUnsupportedMediaType(p.mediaType, mediaJSONPatch, mediaMergePatch, mediaStrategicPatch, mediaApplyPatchYAML)
	}
	if p.body, err = readBody(rr.r, s.opts.MaxRequestBytes); err != nil {
		return nil, err
	}
	return p, nil
}

// invalidOptions is the 422 of a bad option of a request.
func invalidOptions(kind string, errs ...*field.Error) error {
	return apierrors.NewInvalid(schema.GroupKind{Group: metaGroup, Kind: kind}, "", errs)
}

// applyPatch applies a JSON, merge or strategic merge patch to cur and
// returns the patched object. Unknown fields it introduces are handled as
// fieldValidation says.
func (s *Server) applyPatch(rr *resourceRequest, p *patchRequest, cur runtime.Object) (runtime.Object, error) {
	rr.setKind(cur)
	var obj runtime.Object
	var err error
	if p.mediaType == mediaStrategicPatch && rr.res.Group != gitopsv1alpha1.SchemeGroupVersion.Group {
		obj, err = s.strategicPatch(rr, p, cur)
	} else {
		obj, err = s.jsonPatch(rr, p, cur)
	}
	if err != nil {
		return nil, err
	}
	m, cm := metaOf(obj), metaOf(cur)
	if m.GetName() != cm.GetName() {
		return nil, errNameMismatch(m.GetName(), cm.GetName())
	}
	if m.GetNamespace() != cm.GetNamespace() {
		return nil, errNamespaceMismatch()
	}
	return obj, nil
}

// jsonPatch applies a JSON patch or a JSON merge patch.
func (s *Server) jsonPatch(rr *resourceRequest, p *patchRequest, cur runtime.Object) (runtime.Object, error) {
	original, err := json.Marshal(cur)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	patched, err := patchJSON(p, original)
	if err != nil {
		return nil, err
	}
	obj := rr.res.New()
	dec, err := s.decoders.forMediaType(mediaJSON, p.directive != metav1.FieldValidationIgnore)
	if err != nil {
		return nil, err
	}
	gvk := rr.res.GroupVersionKind()
	if _, _, err := dec.Decode(patched, &gvk, obj); err != nil {
		strictErr, isStrict := runtime.AsStrictDecodingError(err)
		switch {
		case !isStrict:
			return nil, apierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{field.Invalid(field.NewPath("patch"), string(p.body), err.Error())})
		case p.directive == metav1.FieldValidationWarn:
			for _, e := range strictErr.Errors() {
				rr.warn.add(e.Error())
			}
		case p.directive == metav1.FieldValidationStrict:
			return nil, apierrors.NewBadRequest(strictErr.Error())
		}
	}
	return obj, nil
}

// patchJSON applies a JSON patch or a JSON merge patch to a document.
func patchJSON(p *patchRequest, original []byte) ([]byte, error) {
	if p.mediaType == mediaJSONPatch {
		ops, err := jsonpatch.DecodePatch(p.body)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		patched, err := ops.Apply(original)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
		return patched, nil
	}
	patched, err := jsonpatch.MergePatch(original, p.body)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return patched, nil
}

// strategicPatch applies a strategic merge patch, using the Go type's
// patchStrategy and patchMergeKey tags.
func (s *Server) strategicPatch(rr *resourceRequest, p *patchRequest, cur runtime.Object) (runtime.Object, error) {
	original, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cur)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	patchMap := map[string]any{}
	var strictErrs []error
	if p.directive == metav1.FieldValidationIgnore {
		err = kjson.UnmarshalCaseSensitivePreserveInts(p.body, &patchMap)
	} else {
		strictErrs, err = kjson.UnmarshalStrict(p.body, &patchMap)
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	patched, err := strategicpatch.StrategicMergeMapPatch(original, patchMap, rr.res.New())
	if err != nil {
		return nil, strategicPatchError(err)
	}
	obj := rr.res.New()
	strict := p.directive != metav1.FieldValidationIgnore
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(patched, obj, strict); err != nil {
		strictErr, isStrict := runtime.AsStrictDecodingError(err)
		if !isStrict {
			return nil, apierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{field.Invalid(field.NewPath("patch"), string(p.body), err.Error())})
		}
		strictErrs = append(strictErrs, strictErr.Errors()...)
	}
	if len(strictErrs) > 0 {
		switch p.directive {
		case metav1.FieldValidationWarn:
			for _, e := range strictErrs {
				rr.warn.add(e.Error())
			}
		case metav1.FieldValidationStrict:
			return nil, apierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{
				field.Invalid(field.NewPath("patch"), string(p.body), runtime.NewStrictDecodingError(strictErrs).Error()),
			})
		}
	}
	rr.setKind(obj)
	return obj, nil
}

// strategicPatchError words a strategic merge patch failure as Kubernetes
// does: malformed patches are 400, patches that cannot apply 422.
func strategicPatchError(err error) error {
	switch err {
	case mergepatch.ErrBadJSONDoc, mergepatch.ErrBadPatchFormatForPrimitiveList, mergepatch.ErrBadPatchFormatForRetainKeys,
		mergepatch.ErrBadPatchFormatForSetElementOrderList, mergepatch.ErrUnsupportedStrategicMergePatchFormat:
		return apierrors.NewBadRequest(err.Error())
	case mergepatch.ErrNoListOfLists, mergepatch.ErrPatchContentNotMatchRetainKeys:
		return apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
	}
	return apierrors.NewBadRequest(err.Error())
}
