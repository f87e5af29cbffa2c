package apiserver

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/store"
)

// listOptions decodes the ListOptions of the query.
func listOptions(rr *resourceRequest) (metav1.ListOptions, error) {
	var opts metav1.ListOptions
	q := rr.query()
	if err := metav1.Convert_url_Values_To_v1_ListOptions(&q, &opts, nil); err != nil {
		return opts, apierrors.NewBadRequest(err.Error())
	}
	return opts, nil
}

// predicate builds the store predicate of a list or watch from its label
// and field selectors. A field the kind does not offer for selection is a
// 400, as in Kubernetes.
func predicate(rr *resourceRequest, opts metav1.ListOptions) (store.Predicate, error) {
	p := store.Predicate{Attrs: api.SelectableFields}
	if opts.LabelSelector != "" {
		sel, err := labels.Parse(opts.LabelSelector)
		if err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		p.Label = sel
	}
	if opts.FieldSelector != "" {
		sel, err := fields.ParseSelector(opts.FieldSelector)
		if err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		_, known, err := api.SelectableFields(rr.res.New())
		if err != nil {
			return p, apierrors.NewInternalError(err)
		}
		for _, req := range sel.Requirements() {
			if _, ok := known[req.Field]; !ok {
				return p, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
		}
		p.Field = sel
	}
	return p, nil
}

// serveList answers LIST: the objects of a namespace (or of all namespaces)
// matching the selectors, one page when limit is set.
func (s *Server) serveList(rr *resourceRequest) {
	opts, err := listOptions(rr)
	if err != nil {
		rr.fail(err)
		return
	}
	out, err := negotiateOutput(rr.r, true, s.protobufFor(rr.res))
	if err != nil {
		rr.fail(err)
		return
	}
	list, err := s.list(rr, opts)
	if err != nil {
		rr.fail(err)
		return
	}
	body, err := s.transform(out, list, true)
	if err != nil {
		rr.fail(err)
		return
	}
	rr.warn.write(rr.w.Header())
	writeBody(rr.w, out, http.StatusOK, body)
}

// list reads one page of the resource as a typed list.
func (s *Server) list(rr *resourceRequest, opts metav1.ListOptions) (runtime.Object, error) {
	pred, err := predicate(rr, opts)
	if err != nil {
		return nil, err
	}
	sopts := store.ListOptions{ResourceVersion: opts.ResourceVersion, Limit: opts.Limit, Continue: opts.Continue, Predicate: pred}
	switch opts.ResourceVersionMatch {
	case "":
	case metav1.ResourceVersionMatchNotOlderThan:
		if opts.ResourceVersion == "" {
			return nil, apierrors.NewBadRequest("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided")
		}
	case metav1.ResourceVersionMatchExact:
		if opts.ResourceVersion == "" || opts.ResourceVersion == "0" {
			return nil, apierrors.NewBadRequest("resourceVersionMatch: Forbidden: resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\" or unset")
		}
		sopts.Exact = true
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("resourceVersionMatch: Unsupported value: %q", opts.ResourceVersionMatch))
	}
	if _, err := store.ParseResourceVersion(opts.ResourceVersion); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	res, err := s.store.List(rr.ctx(), rr.prefix(), sopts, rr.res.New)
	if err != nil {
		return nil, listError(err, rr)
	}
	list := rr.res.NewList()
	for _, item := range res.Items {
		item.GetObjectKind().SetGroupVersionKind(emptyGVK)
	}
	if err := meta.SetList(list, res.Items); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	lm.SetResourceVersion(fmt.Sprint(res.ResourceVersion))
	lm.SetContinue(res.Continue)
	lm.SetRemainingItemCount(res.RemainingItemCount)
	list.GetObjectKind().SetGroupVersionKind(rr.res.GroupVersion().WithKind(rr.res.ListKind))
	return list, nil
}

// listError words a store error of a list as Kubernetes does.
func listError(err error, rr *resourceRequest) error {
	if errors.Is(err, store.ErrCompacted) && rr.query().Get("continue") != "" {
		return apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
	}
	return storeError(err, rr.gr(), "")
}
