package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/navarch/navarch/store"
)

// optimisticLockErrorMsg is Kubernetes' message for a stale write, which
// clients and people recognise.
const optimisticLockErrorMsg = "the object has been modified; please apply your changes to the latest version and try again"

// storeError turns an error of the store into the Kubernetes error a client
// expects for the resource and name it concerns. Errors that already are API
// errors pass through.
func storeError(err error, gr schema.GroupResource, name string) error {
	var status apierrors.APIStatus
	switch {
	case err == nil:
		return nil
	case errors.As(err, &status):
		return err
	case errors.Is(err, store.ErrNotFound):
		return apierrors.NewNotFound(gr, name)
	case errors.Is(err, store.ErrExists):
		return apierrors.NewAlreadyExists(gr, name)
	case errors.Is(err, store.ErrConflict):
		return apierrors.NewConflict(gr, name, errors.New(optimisticLockErrorMsg))
	case errors.Is(err, store.ErrCompacted):
		return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %v", err))
	case errors.Is(err, store.ErrInvalidContinue):
		return apierrors.NewBadRequest(err.Error())
	case errors.Is(err, store.ErrTooLarge):
		return apierrors.NewRequestEntityTooLargeError(err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return apierrors.NewTimeoutError(fmt.Sprintf("request did not complete within the allowed duration: %v", err), 1)
	case errors.Is(err, context.Canceled):
		return apierrors.NewTimeoutError("request was cancelled", 1)
	}
	return apierrors.NewInternalError(err)
}

// statusTypeMeta is the apiVersion and kind of every Status the server
// answers.
var statusTypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}

// toStatus returns the Status a client receives for err.
func toStatus(err error) *metav1.Status {
	var status apierrors.APIStatus
	var s metav1.Status
	if errors.As(err, &status) {
		s = status.Status()
		if s.Code == 0 {
			s.Code = http.StatusInternalServerError
		}
		if s.Status == "" {
			s.Status = metav1.StatusFailure
		}
	} else {
		s = apierrors.NewInternalError(err).Status()
	}
	s.TypeMeta = statusTypeMeta
	return &s
}

// writeError answers the request with err as a Status object.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	s := toStatus(err)
	writeJSON(w, r, int(s.Code), s)
}

// writeSuccess answers a request with st, made a Status of success, and
// the HTTP status code given.
func writeSuccess(rr *resourceRequest, code int, st *metav1.Status) {
	st.TypeMeta, st.Status = statusTypeMeta, metav1.StatusSuccess
	rr.warn.write(rr.w.Header())
	writeJSON(rr.w, rr.r, code, st)
}

// newStatusError returns an API error of the given code and reason.
func newStatusError(code int, reason metav1.StatusReason, msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: msg,
	}}
}

// errNotAcceptable answers an Accept header the server cannot satisfy.
func errNotAcceptable(accepted ...string) error {
	return newStatusError(http.StatusNotAcceptable, metav1.StatusReasonNotAcceptable,
		fmt.Sprintf("only the following media types are accepted: %s", strings.Join(accepted, ", ")))
}

// errUnsupportedMediaType answers a request body of a type the server
// cannot read.
func errUnsupportedMediaType(contentType string, supported ...string) error {
	return newStatusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s (got %q)", strings.Join(supported, ", "), contentType))
}

// errNotFoundPath answers a path that names nothing the server serves,
// with Kubernetes' message.
func errNotFoundPath() error {
	return newStatusError(http.StatusNotFound, metav1.StatusReasonNotFound, "the server could not find the requested resource")
}

// errNameMismatch is Kubernetes' 400 for a body naming another object
// than the URL does.
func errNameMismatch(inBody, inURL string) error {
	return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", inBody, inURL))
}

// errNamespaceMismatch is Kubernetes' 400 for a body naming another
// namespace than the URL does.
func errNamespaceMismatch() error {
	return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
}
