package webhook

import (
	"errors"
	"net/http"
	"strings"
)

// Errors Verify and ReadBody return, tested with errors.Is.
var (
	// ErrSignature: the signature or token is missing or wrong, or no
	// secret is configured. Answer 401.
	ErrSignature = errors.New("webhook signature invalid")
	// ErrUnsupported: the request is from no sender this package knows, uses
	// an algorithm it refuses, or its payload cannot be read. Answer 400.
	ErrUnsupported = errors.New("webhook not supported")
	// ErrTooLarge: the body is over the limit. Answer 413.
	ErrTooLarge = errors.New("webhook body too large")
)

// HTTPStatus is the status code to answer a request that failed with err:
// 401, 413, 400, or 500 for any other error.
func HTTPStatus(err error) int {
	switch {
	case errors.Is(err, ErrSignature):
		return http.StatusUnauthorized
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnsupported):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

// Provider names the sender of a webhook.
type Provider string

// Providers Verify recognises.
const (
	GitHub  Provider = "github"
	GitLab  Provider = "gitlab"
	Gitea   Provider = "gitea" // also Forgejo and Gogs
	Generic Provider = "generic"
)

// Type is what an event asks for.
type Type string

// Event types.
const (
	// Push: a branch or tag moved; sync if it is the Source's.
	Push Type = "push"
	// Ping: the host checks the endpoint; answer and do nothing.
	Ping Type = "ping"
	// Other: any other event (issues, pull requests …); ignore it.
	Other Type = "other"
)

// Event is an authenticated webhook delivery.
type Event struct {
	Provider Provider
	Type     Type
	// Name is the sender's own event name ("push", "Push Hook" …).
	Name string
	// DeliveryID identifies the delivery, for Deduper; it may be empty.
	DeliveryID string
	// Ref is the pushed reference, "refs/heads/<branch>" or
	// "refs/tags/<tag>"; empty when the payload names none.
	Ref string
	// After is the commit the reference points to after the push; all
	// zeros when the push deleted it.
	After string
}

// Branch is the pushed branch, or "" when Ref is not a branch.
func (e Event) Branch() string {
	b, ok := strings.CutPrefix(e.Ref, "refs/heads/")
	if !ok {
		return ""
	}
	return b
}

// Tag is the pushed tag, or "" when Ref is not a tag.
func (e Event) Tag() string {
	t, ok := strings.CutPrefix(e.Ref, "refs/tags/")
	if !ok {
		return ""
	}
	return t
}

// Deleted reports whether the push removed the reference.
func (e Event) Deleted() bool {
	return e.After != "" && strings.Trim(e.After, "0") == ""
}
