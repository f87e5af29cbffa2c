package alloc

import (
	"errors"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrAllocated: a requested value is held by another owner.
	ErrAllocated = errors.New("already allocated")
	// ErrNotInRange: a requested value lies outside the range.
	ErrNotInRange = errors.New("not in the valid range")
	// ErrFull: no free value is left in the range.
	ErrFull = errors.New("range is full")
)

// InvalidError is a Service's request the allocator refuses: a requested
// cluster IP or node port that is taken or out of range. Errs are field
// errors in Kubernetes' wording; the API server answers 422 Invalid with
// them. errors.Is matches it against ErrAllocated and ErrNotInRange.
type InvalidError struct {
	Errs   field.ErrorList
	causes []error
}

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, ", ")
}

// Unwrap returns the sentinels behind the field errors.
func (e *InvalidError) Unwrap() []error { return e.causes }

func (e *InvalidError) add(fe *field.Error, cause error) {
	e.Errs = append(e.Errs, fe)
	e.causes = append(e.causes, cause)
}

// orNil returns e, or nil when it holds no error.
func (e *InvalidError) orNil() error {
	if e == nil || len(e.Errs) == 0 {
		return nil
	}
	return e
}

// refusal is the field error for a requested value v of s refused for
// cause, in Kubernetes' wording.
func (s *span) refusal(path *field.Path, value any, cause error) *field.Error {
	if errors.Is(cause, ErrNotInRange) {
		return field.Invalid(path, value, "provided "+s.kind+" is not in the valid range. The range of valid "+s.kind+"s is "+s.valid)
	}
	return field.Invalid(path, value, "provided "+s.kind+" is already allocated")
}
