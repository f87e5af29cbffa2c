package reconciler

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Problem is one thing wrong with a revision, reported to the user as
// "file: kind namespace/name: field: message". Parts that are unknown (a
// document that did not decode has no object) are left out.
type Problem struct {
	// File is the manifest's path relative to spec.path.
	File string
	// Object is "Kind namespace/name" (ObjectKey.String), or "" when the
	// document did not decode far enough to name one.
	Object string
	// Field is the field path ("spec.replicas"), or "".
	Field string
	// Message says what is wrong.
	Message string
}

// String formats the problem as status.errors lists it.
func (p Problem) String() string {
	parts := make([]string, 0, 4)
	for _, s := range []string{p.File, p.Object, p.Field, p.Message} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// Problems is every problem of a revision.
type Problems []Problem

// Strings formats every problem, sorted by file, object and field.
func (ps Problems) Strings() []string {
	sorted := append(Problems(nil), ps...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		return a.Field < b.Field
	})
	out := make([]string, len(sorted))
	for i, p := range sorted {
		out[i] = p.String()
	}
	return out
}

// Summary is a one-paragraph message for the Ready condition: how many
// problems, and each of them (the first few when there are many).
func (ps Problems) Summary() string {
	const shown = 10
	lines := ps.Strings()
	head := fmt.Sprintf("revision is invalid, nothing was applied: %d problem", len(lines))
	if len(lines) != 1 {
		head += "s"
	}
	if len(lines) > shown {
		lines = append(lines[:shown:shown], fmt.Sprintf("… and %d more (see status.errors)", len(lines)-shown))
	}
	return head + ": " + strings.Join(lines, "; ")
}

// fieldProblems turns validation errors of one object into problems.
func fieldProblems(file, object string, errs field.ErrorList) Problems {
	out := make(Problems, 0, len(errs))
	for _, e := range errs {
		out = append(out, Problem{File: file, Object: object, Field: e.Field, Message: e.ErrorBody()})
	}
	return out
}

// errorProblems turns an admission error into problems: the causes of a
// 422 Invalid status, one each, or the error's message.
func errorProblems(file, object string, err error) Problems {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if d := status.Status().Details; d != nil && len(d.Causes) > 0 {
			out := make(Problems, 0, len(d.Causes))
			for _, c := range d.Causes {
				out = append(out, Problem{File: file, Object: object, Field: c.Field, Message: c.Message})
			}
			return out
		}
	}
	return Problems{{File: file, Object: object, Message: err.Error()}}
}
