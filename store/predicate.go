package store

import (
	"errors"

	"k8s.io/apimachinery/pkg/runtime"
)

// Matches reports whether obj's labels and fields satisfy p. A zero
// Predicate matches everything; a non-empty one needs Attrs.
func (p Predicate) Matches(obj runtime.Object) (bool, error) {
	if p.Empty() {
		return true, nil
	}
	if p.Attrs == nil {
		return false, errors.New("predicate: selector set without Attrs")
	}
	lbls, flds, err := p.Attrs(obj)
	if err != nil {
		return false, err
	}
	if p.Label != nil && !p.Label.Empty() && !p.Label.Matches(lbls) {
		return false, nil
	}
	if p.Field != nil && !p.Field.Empty() && !p.Field.Matches(flds) {
		return false, nil
	}
	return true, nil
}
