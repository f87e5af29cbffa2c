package store

import (
	"fmt"
	"reflect"
	"strconv"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// encode returns obj's JSON without its resourceVersion, which is never
// stored: it is the etcd revision and is set again on every read. obj is
// left as it was.
func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	if obj == nil {
		return nil, fmt.Errorf("encode: nil object")
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	rv := accessor.GetResourceVersion()
	accessor.SetResourceVersion("")
	data, err := runtime.Encode(s.opts.Codec, obj)
	accessor.SetResourceVersion(rv)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return data, nil
}

// decode replaces out's content with the object in data and sets its
// resourceVersion to rev.
func (s *Store) decode(data []byte, out runtime.Object, rev int64) error {
	resetObject(out)
	if _, _, err := s.opts.Codec.Decode(data, nil, out); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return setResourceVersion(out, rev)
}

// resetObject zeroes the struct out points to, so that decoding into it
// does not merge with what it held before.
func resetObject(out runtime.Object) {
	v := reflect.ValueOf(out)
	if v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct {
		v.Elem().Set(reflect.Zero(v.Elem().Type()))
	}
}

// newLike returns a new empty object of out's type.
func newLike(out runtime.Object) runtime.Object {
	t := reflect.TypeOf(out)
	if t.Kind() == reflect.Pointer {
		if o, ok := reflect.New(t.Elem()).Interface().(runtime.Object); ok {
			return o
		}
	}
	o := out.DeepCopyObject()
	resetObject(o)
	return o
}

// setResourceVersion sets obj's resourceVersion to rev ("" for 0).
func setResourceVersion(obj runtime.Object, rev int64) error {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if rev == 0 {
		accessor.SetResourceVersion("")
	} else {
		accessor.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
	return nil
}

// resourceVersionOf returns obj's resourceVersion as a revision.
func resourceVersionOf(obj runtime.Object) (int64, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return 0, err
	}
	return ParseResourceVersion(accessor.GetResourceVersion())
}
