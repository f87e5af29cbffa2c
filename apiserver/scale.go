package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/navarch/navarch/api"
)

var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

// serveScale answers the scale subresource of deployments and replicasets:
// GET reads spec.replicas as an autoscaling/v1 Scale, PUT and PATCH change
// it.
func (s *Server) serveScale(rr *resourceRequest) {
	if rr.info.Verb == "get" {
		obj := rr.res.New()
		if err := s.store.Get(rr.ctx(), rr.key(), obj); err != nil {
			rr.fail(storeError(err, rr.gr(), rr.info.Name))
			return
		}
		s.writeScale(rr, http.StatusOK, obj)
		return
	}
	// newScale turns the current Scale into the requested one.
	var (
		newScale func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error)
		manager  string
		dryRun   bool
	)
	if rr.info.Verb == "update" {
		var err error
		if manager, dryRun, err = rr.writeOptions(); err != nil {
			rr.fail(err)
			return
		}
		in := &autoscalingv1.Scale{}
		if err := s.decodeBody(rr, scaleGVK, in); err != nil {
			rr.fail(err)
			return
		}
		newScale = func(*autoscalingv1.Scale) (*autoscalingv1.Scale, error) { return in, nil }
	} else {
		p, err := s.readPatch(rr)
		if err != nil {
			rr.fail(err)
			return
		}
		if p.mediaType == mediaApplyPatchYAML {
			rr.fail(errUnsupportedMediaType(p.mediaType, mediaJSONPatch, mediaMergePatch, mediaStrategicPatch))
			return
		}
		manager, dryRun = p.manager, p.dryRun
		newScale = func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error) { return patchScale(p, cur) }
	}
	out, err := s.update(rr, dryRun, func(cur runtime.Object) (runtime.Object, error) {
		curScale, err := scaleOf(cur)
		if err != nil {
			return nil, err
		}
		in, err := newScale(curScale)
		if err != nil {
			return nil, err
		}
		if in.Name != "" && in.Name != rr.info.Name {
			return nil, errNameMismatch(in.Name, rr.info.Name)
		}
		if err := checkResourceVersion(rr, in.ResourceVersion, curScale.ResourceVersion); err != nil {
			return nil, err
		}
		if in.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(scaleGVK.GroupKind(), rr.info.Name, field.ErrorList{
				field.Invalid(field.NewPath("spec", "replicas"), in.Spec.Replicas, "must be greater than or equal to 0"),
			})
		}
		obj := cur.DeepCopyObject()
		setReplicas(obj, in.Spec.Replicas)
		if err := api.PrepareForUpdate(obj, cur); err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		if errs := api.ValidateUpdate(obj, cur); len(errs) > 0 {
			return nil, apierrors.NewInvalid(rr.gk(), rr.info.Name, errs)
		}
		return s.fields.update(rr, cur, obj, manager, "scale")
	})
	if err != nil {
		rr.fail(err)
		return
	}
	s.writeScale(rr, http.StatusOK, out)
}

// patchScale applies a JSON, merge or strategic merge patch to a Scale
// (which has no lists: the three agree).
func patchScale(p *patchRequest, cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
	original, err := json.Marshal(cur)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	pr := *p
	if pr.mediaType == mediaStrategicPatch {
		pr.mediaType = mediaMergePatch
	}
	patched, err := patchJSON(&pr, original)
	if err != nil {
		return nil, err
	}
	out := &autoscalingv1.Scale{}
	if err := json.Unmarshal(patched, out); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return out, nil
}

// scaleOf returns the Scale of a deployment or replicaset.
func scaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	var (
		m        metav1.ObjectMeta
		replicas *int32
		status   int32
		selector *metav1.LabelSelector
	)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		m, replicas, status, selector = o.ObjectMeta, o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector
	case *appsv1.ReplicaSet:
		m, replicas, status, selector = o.ObjectMeta, o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector
	default:
		return nil, apierrors.NewInternalError(fmt.Errorf("no scale for %T", obj))
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	scale := &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: scaleGVK.GroupVersion().String(), Kind: scaleGVK.Kind},
		ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
			CreationTimestamp: m.CreationTimestamp,
		},
		Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: sel.String()},
	}
	if replicas != nil {
		scale.Spec.Replicas = *replicas
	}
	return scale, nil
}

func setReplicas(obj runtime.Object, n int32) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec.Replicas = &n
	case *appsv1.ReplicaSet:
		o.Spec.Replicas = &n
	}
}

func (s *Server) writeScale(rr *resourceRequest, code int, obj runtime.Object) {
	scale, err := scaleOf(obj)
	if err != nil {
		rr.fail(err)
		return
	}
	rr.warn.write(rr.w.Header())
	writeJSON(rr.w, rr.r, code, scale)
}
