package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/apiserver/alloc"
)

var emptyGVK = schema.GroupVersionKind{}

// defaultRequestTimeout bounds every request but watches, as
// kube-apiserver's --request-timeout; a shorter ?timeout= wins.
const defaultRequestTimeout = time.Minute

// resourceRequest is one request for a resource, as the verb handlers see
// it.
type resourceRequest struct {
	info *RequestInfo
	res  api.Resource
	w    http.ResponseWriter
	r    *http.Request
	// c is the context of an in-process admission (no HTTP request).
	c    context.Context
	warn warnings
	// plan is the allocation plan of the Service being written, set by
	// admission (see allocate) for the write to commit.
	plan *alloc.Plan
	// batch marks an in-process admission whose writes are committed
	// later, together with others (Admit): its plans use reservations.
	batch bool
}

func (rr *resourceRequest) ctx() context.Context {
	if rr.r == nil {
		if rr.c == nil {
			return context.Background()
		}
		return rr.c
	}
	return rr.r.Context()
}

// gr is the resource's group-resource, as errors name it ("pods",
// "deployments.apps").
func (rr *resourceRequest) gr() schema.GroupResource { return rr.res.GroupResource() }

// gk is the kind's group-kind, as 422 errors name it.
func (rr *resourceRequest) gk() schema.GroupKind { return rr.res.GroupVersionKind().GroupKind() }

// key is the storage key of the named object.
func (rr *resourceRequest) key() string {
	return rr.res.StorageKey(rr.namespace(), rr.info.Name)
}

// namespace is the namespace objects of the request live in: empty for
// cluster-scoped resources.
func (rr *resourceRequest) namespace() string {
	if !rr.res.Namespaced {
		return ""
	}
	return rr.info.Namespace
}

// prefix is the storage prefix a list or watch reads.
func (rr *resourceRequest) prefix() string {
	return rr.res.StorageKey(rr.namespace(), "")
}

func (rr *resourceRequest) query() url.Values { return rr.r.URL.Query() }

// dryRun reports whether the request asks for dryRun=All; other values are
// refused.
func (rr *resourceRequest) dryRun() (bool, error) {
	values := rr.query()["dryRun"]
	for _, v := range values {
		if v != metav1.DryRunAll {
			return false, apierrors.NewBadRequest(fmt.Sprintf("dryRun: Unsupported value: %q: supported values: %q", v, metav1.DryRunAll))
		}
	}
	return len(values) > 0, nil
}

// writeOptions reads the options every write takes from the query: the
// field manager (fieldManager, checked as Kubernetes checks it, else
// derived from the user agent; see managerName) and dryRun.
func (rr *resourceRequest) writeOptions() (manager string, dryRun bool, err error) {
	option := rr.query().Get("fieldManager")
	if err := validateManager(option); err != nil {
		return "", false, err
	}
	if dryRun, err = rr.dryRun(); err != nil {
		return "", false, err
	}
	return managerName(rr.r, option), dryRun, nil
}

// fail answers the request with err.
func (rr *resourceRequest) fail(err error) {
	rr.warn.write(rr.w.Header())
	writeError(rr.w, rr.r, err)
}

// serveResource routes a resource request to its verb's handler.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, info *RequestInfo) {
	res, ok := api.LookupResource(info.GroupVersionResource())
	if !ok || (!res.Namespaced && info.Namespace != "" && res.Resource != "namespaces") ||
		(res.Namespaced && info.Name != "" && info.Namespace == "") ||
		(info.Subresource != "" && !res.HasSubresource(info.Subresource)) {
		writeError(w, r, errNotFoundPath())
		return
	}
	if info.Verb != "watch" {
		timeout := defaultRequestTimeout
		if d, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil && d > 0 && d < timeout {
			timeout = d
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	rr := &resourceRequest{info: info, res: res, w: w, r: r}
	if res.Namespaced && info.Namespace == "" && info.Verb != "list" && info.Verb != "watch" {
		// Across all namespaces there are only lists and watches.
		rr.fail(errMethodNotAllowed(r))
		return
	}
	if info.Subresource != "" {
		s.serveSubresource(rr)
		return
	}
	switch info.Verb {
	case "get":
		s.serveGet(rr)
	case "list":
		s.serveList(rr)
	case "watch":
		s.serveWatch(rr)
	case "create":
		if info.Name != "" {
			rr.fail(errMethodNotAllowed(r))
			return
		}
		s.serveCreate(rr)
	case "update":
		s.serveUpdate(rr)
	case "patch":
		s.servePatch(rr)
	case "delete":
		s.serveDelete(rr)
	case "deletecollection":
		s.serveDeleteCollection(rr)
	default:
		rr.fail(errMethodNotAllowed(r))
	}
}

// serveSubresource routes status, scale, binding and finalize requests.
func (s *Server) serveSubresource(rr *resourceRequest) {
	verb := rr.info.Verb
	switch rr.info.Subresource {
	case "status":
		switch verb {
		case "get":
			s.serveGet(rr)
		case "update":
			s.serveUpdate(rr)
		case "patch":
			s.servePatch(rr)
		default:
			rr.fail(errMethodNotAllowed(rr.r))
		}
	case "scale":
		switch verb {
		case "get", "update", "patch":
			s.serveScale(rr)
		default:
			rr.fail(errMethodNotAllowed(rr.r))
		}
	case "binding":
		if verb != "create" {
			rr.fail(errMethodNotAllowed(rr.r))
			return
		}
		s.serveBinding(rr)
	case "finalize":
		if verb != "update" {
			rr.fail(errMethodNotAllowed(rr.r))
			return
		}
		s.serveFinalize(rr)
	default:
		rr.fail(errNotFoundPath())
	}
}

// setKind sets obj's apiVersion and kind to those of the resource, as
// responses carry them.
func (rr *resourceRequest) setKind(obj runtime.Object) {
	obj.GetObjectKind().SetGroupVersionKind(rr.res.GroupVersionKind())
}

// writeObject answers with obj (a single object of the resource) with the
// status code given, in the format the client asked for.
func (s *Server) writeObject(rr *resourceRequest, code int, obj runtime.Object) {
	rr.setKind(obj)
	out, err := negotiateOutput(rr.r, rr.info.Verb == "get", s.protobufFor(rr.res))
	if err != nil {
		rr.fail(err)
		return
	}
	body, err := s.transform(out, obj, true)
	if err != nil {
		rr.fail(err)
		return
	}
	rr.warn.write(rr.w.Header())
	writeBody(rr.w, out, code, body)
}

// transform turns an object or list into the negotiated shape: itself, a
// Table, or PartialObjectMetadata(List). headers says whether a Table
// carries its column definitions.
func (s *Server) transform(out output, obj runtime.Object, headers bool) (runtime.Object, error) {
	switch out.kind {
	case outTable:
		return s.toTable(out, obj, headers)
	case outPartial:
		return toPartial(out, obj)
	}
	return obj, nil
}

// toPartial returns the metadata of an object or a list, as metadata-only
// clients ask for.
func toPartial(out output, obj runtime.Object) (runtime.Object, error) {
	gv := schema.GroupVersion{Group: metaGroup, Version: out.metaVersion}
	if meta.IsListType(obj) {
		items, err := meta.ExtractList(obj)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		lm, err := meta.ListAccessor(obj)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		list := &metav1.PartialObjectMetadataList{
			TypeMeta: metav1.TypeMeta{APIVersion: gv.String(), Kind: asPartialMetadataList},
			ListMeta: metav1.ListMeta{ResourceVersion: lm.GetResourceVersion(), Continue: lm.GetContinue(), RemainingItemCount: lm.GetRemainingItemCount()},
			Items:    make([]metav1.PartialObjectMetadata, 0, len(items)),
		}
		for _, item := range items {
			m, err := meta.Accessor(item)
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			p := meta.AsPartialObjectMetadata(m)
			p.TypeMeta = metav1.TypeMeta{APIVersion: gv.String(), Kind: asPartialMetadata}
			list.Items = append(list.Items, *p)
		}
		return list, nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	p := meta.AsPartialObjectMetadata(m)
	p.TypeMeta = metav1.TypeMeta{APIVersion: gv.String(), Kind: asPartialMetadata}
	return p, nil
}

// managerName is the field manager of a write: the fieldManager option, or
// the client's user agent up to the first "/", as Kubernetes names it.
func managerName(r *http.Request, option string) string {
	if option != "" {
		return option
	}
	ua := strings.SplitN(r.UserAgent(), "/", 2)[0]
	var b strings.Builder
	for _, c := range ua {
		if c < ' ' || c == 0x7f {
			continue
		}
		if b.Len()+len(string(c)) > 128 {
			break
		}
		b.WriteRune(c)
	}
	return b.String()
}

// validateManager checks a fieldManager option as Kubernetes does.
func validateManager(name string) error {
	if len(name) > 128 {
		return apierrors.NewBadRequest(fmt.Sprintf("fieldManager: Too long: may not be longer than 128 (got %d)", len(name)))
	}
	for _, c := range name {
		if c < ' ' || c == 0x7f {
			return apierrors.NewBadRequest(fmt.Sprintf("fieldManager: Invalid value: %q: must only contain printable characters", name))
		}
	}
	return nil
}

// protobufFor returns the protobuf encoder when the resource's kind has a
// protobuf encoding (Kubernetes' kinds; not navarch's own), else nil.
func (s *Server) protobufFor(res api.Resource) runtime.Encoder {
	if _, ok := res.New().(interface{ MarshalToSizedBuffer([]byte) (int, error) }); ok {
		return s.protobuf
	}
	return nil
}
