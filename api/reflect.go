package api

import (
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var emptyGVK = schema.GroupVersionKind{}

func structOf(obj runtime.Object) (reflect.Value, error) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("%T is not a pointer to a struct", obj)
	}
	return v.Elem(), nil
}

// fieldValue returns a copy of the named top-level field of obj.
func fieldValue(obj runtime.Object, name string) (any, error) {
	v, err := structOf(obj)
	if err != nil {
		return nil, err
	}
	f := v.FieldByName(name)
	if !f.IsValid() {
		return nil, fmt.Errorf("%T has no field %s", obj, name)
	}
	return f.Interface(), nil
}

func setFieldValue(obj runtime.Object, name string, val any) error {
	v, err := structOf(obj)
	if err != nil {
		return err
	}
	f := v.FieldByName(name)
	if !f.IsValid() || !f.CanSet() {
		return fmt.Errorf("%T has no settable field %s", obj, name)
	}
	f.Set(reflect.ValueOf(val))
	return nil
}

// clearField sets the named field to its zero value; a missing field is not
// an error (not every kind has a status).
func clearField(obj runtime.Object, name string) error {
	v, err := structOf(obj)
	if err != nil {
		return err
	}
	if f := v.FieldByName(name); f.IsValid() && f.CanSet() {
		f.Set(reflect.Zero(f.Type()))
	}
	return nil
}

// copyField copies the named field from src to dst (a deep copy); a kind
// without the field is left alone.
func copyField(dst, src runtime.Object, name string) error {
	sv, err := structOf(src.DeepCopyObject())
	if err != nil {
		return err
	}
	dv, err := structOf(dst)
	if err != nil {
		return err
	}
	sf, df := sv.FieldByName(name), dv.FieldByName(name)
	if !sf.IsValid() || !df.IsValid() {
		return nil
	}
	df.Set(sf)
	return nil
}

func copyInto(dst, src runtime.Object) error {
	dv, err := structOf(dst)
	if err != nil {
		return err
	}
	sv, err := structOf(src)
	if err != nil {
		return err
	}
	if dv.Type() != sv.Type() {
		return fmt.Errorf("copy %T into %T", src, dst)
	}
	dv.Set(sv)
	return nil
}
