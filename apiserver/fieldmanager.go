package apiserver

import (
	"fmt"
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/apiserver/openapi"
)

// fieldManagers tracks metadata.managedFields on every write and merges
// server-side apply patches, with Kubernetes' own field manager
// (k8s.io/apimachinery/pkg/util/managedfields) over structured-merge-diff.
// Built-in kinds use the schema client-go carries for them (list merge keys
// and atomicity as Kubernetes has them); navarch's own kinds the schema of
// their OpenAPI document (package openapi), built from the Go types.
type fieldManagers struct {
	scheme    *runtime.Scheme
	converter managedfields.TypeConverter

	mu       sync.Mutex
	managers map[fmKey]*managedfields.FieldManager
}

type fmKey struct {
	gvk         schema.GroupVersionKind
	subresource string
}

func newFieldManagers(scheme *runtime.Scheme) *fieldManagers {
	return &fieldManagers{
		scheme:    scheme,
		converter: &typeConverter{scheme: scheme},
		managers:  map[fmKey]*managedfields.FieldManager{},
	}
}

// manager returns the field manager of a resource's kind and subresource
// ("" or "status"), creating it on first use.
func (f *fieldManagers) manager(res api.Resource, subresource string) (*managedfields.FieldManager, error) {
	key := fmKey{res.GroupVersionKind(), subresource}
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.managers[key]; ok {
		return m, nil
	}
	// The main resource does not own the status of kinds with a status
	// subresource, and the status subresource owns nothing else.
	var reset map[fieldpath.APIVersion]fieldpath.Filter
	if res.HasSubresource("status") {
		path := "status"
		if subresource == "status" {
			path = "spec"
		}
		reset = map[fieldpath.APIVersion]fieldpath.Filter{
			fieldpath.APIVersion(res.GroupVersion().String()): fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie(path))),
		}
	}
	m, err := managedfields.NewDefaultFieldManager(f.converter, f.scheme, defaulter{}, f.scheme,
		key.gvk, res.GroupVersion(), subresource, reset)
	if err != nil {
		return nil, err
	}
	f.managers[key] = m
	return m, nil
}

// update records manager as the owner of the fields newObj changes from
// liveObj, in newObj's managedFields, and returns newObj. Failures keep the
// live object's managedFields, as Kubernetes does.
func (f *fieldManagers) update(rr *resourceRequest, liveObj, newObj runtime.Object, manager, subresource string) (runtime.Object, error) {
	m, err := f.manager(rr.res, subresource)
	if err != nil {
		return nil, err
	}
	rr.setKind(liveObj)
	rr.setKind(newObj)
	out := m.UpdateNoErrors(liveObj, newObj, manager)
	rr.setKind(out)
	return out, nil
}

// apply merges a server-side apply patch into liveObj as manager; a field
// another manager owns with a different value is a 409 conflict unless
// force is set.
func (f *fieldManagers) apply(rr *resourceRequest, liveObj, patch runtime.Object, manager string, force bool) (runtime.Object, error) {
	m, err := f.manager(rr.res, rr.info.Subresource)
	if err != nil {
		return nil, err
	}
	rr.setKind(liveObj)
	out, err := m.Apply(liveObj, patch, manager, force)
	if err != nil {
		return nil, err
	}
	rr.setKind(out)
	return out, nil
}

// defaulter runs api.Default for the field manager.
type defaulter struct{}

func (defaulter) Default(obj runtime.Object) { api.Default(obj) }

// typeConverter converts objects to structured-merge-diff values: with
// client-go's schema of Kubernetes' kinds, with navarch's OpenAPI schema of
// its own. Both are built on first use, which keeps start-up fast.
type typeConverter struct {
	scheme *runtime.Scheme

	builtinOnce sync.Once
	builtin     managedfields.TypeConverter
	ownOnce     sync.Once
	own         managedfields.TypeConverter
	ownErr      error
}

func (c *typeConverter) pick(gvk schema.GroupVersionKind) (managedfields.TypeConverter, error) {
	if gvk.Group != gitopsv1alpha1.SchemeGroupVersion.Group {
		c.builtinOnce.Do(func() { c.builtin = applyconfigurations.NewTypeConverter(c.scheme) })
		return c.builtin, nil
	}
	c.ownOnce.Do(func() {
		var own []api.Resource
		for _, r := range api.Resources() {
			if r.Group == gitopsv1alpha1.SchemeGroupVersion.Group {
				own = append(own, r)
			}
		}
		schemas, err := openapi.Schemas(own)
		if err == nil {
			c.own, err = managedfields.NewTypeConverter(schemas, false)
		}
		if err != nil {
			c.ownErr = fmt.Errorf("schema of %s for server-side apply: %w", gitopsv1alpha1.SchemeGroupVersion, err)
		}
	})
	return c.own, c.ownErr
}

func (c *typeConverter) ObjectToTyped(obj runtime.Object, opts ...typed.ValidationOptions) (*typed.TypedValue, error) {
	tc, err := c.pick(obj.GetObjectKind().GroupVersionKind())
	if err != nil {
		return nil, err
	}
	return tc.ObjectToTyped(obj, opts...)
}

// TypedToObject returns the value as an Unstructured object; both
// converters do the same.
func (c *typeConverter) TypedToObject(value *typed.TypedValue) (runtime.Object, error) {
	return managedfields.NewDeducedTypeConverter().TypedToObject(value)
}

// assign makes dst hold src when they are different objects of the same
// type (the field manager may return a new object).
func assign(dst, src runtime.Object) error {
	if dst == src {
		return nil
	}
	dv, sv := reflect.ValueOf(dst), reflect.ValueOf(src)
	if dv.Type() != sv.Type() {
		return fmt.Errorf("assign %T to %T", src, dst)
	}
	dv.Elem().Set(sv.Elem())
	return nil
}
