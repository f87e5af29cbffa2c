package printers

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/api"
)

// TableOptions controls how ToTable builds a table.
type TableOptions struct {
	// NoHeaders leaves out the column definitions, as the
	// metav1.TableOptions field of the same name asks.
	NoHeaders bool
	// IncludeObject says what each row carries in its object field:
	// metav1.IncludeMetadata (the default, also for ""), metav1.IncludeObject
	// or metav1.IncludeNone.
	IncludeObject metav1.IncludeObjectPolicy
	// Now is the time ages are computed against; the zero value means
	// time.Now().
	Now time.Time
}

// ErrIncludeObject is returned by ToTable for an IncludeObject policy other
// than Object, Metadata, None or empty. The API server answers it with 400
// Bad Request.
var ErrIncludeObject = errors.New("includeObject must be one of Object, Metadata or None")

// printer renders one kind: its columns and a function returning the cells
// of one object, in column order.
type printer struct {
	columns []metav1.TableColumnDefinition
	cells   func(obj runtime.Object, now time.Time) []any
}

// ToTable returns the table of obj, which is either one typed object or a
// typed list. It fails with ErrIncludeObject for an unknown IncludeObject
// policy, and with an error when obj is neither an object with metadata nor
// a list of such objects.
func ToTable(obj runtime.Object, opts TableOptions) (*metav1.Table, error) {
	switch opts.IncludeObject {
	case "", metav1.IncludeMetadata, metav1.IncludeObject, metav1.IncludeNone:
	default:
		return nil, fmt.Errorf("includeObject %q: %w", opts.IncludeObject, ErrIncludeObject)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	table := &metav1.Table{}
	table.APIVersion, table.Kind = metav1.SchemeGroupVersion.String(), "Table"

	var items []runtime.Object
	var p printer
	if meta.IsListType(obj) {
		list, err := meta.ListAccessor(obj)
		if err != nil {
			return nil, fmt.Errorf("table of %T: %w", obj, err)
		}
		table.ResourceVersion = list.GetResourceVersion()
		table.Continue = list.GetContinue()
		table.RemainingItemCount = list.GetRemainingItemCount()
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, fmt.Errorf("table of %T: %w", obj, err)
		}
		p = printerFor(itemOf(obj, items))
	} else {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, fmt.Errorf("table of %T: %w", obj, err)
		}
		table.ResourceVersion = m.GetResourceVersion()
		items = []runtime.Object{obj}
		p = printerFor(obj)
	}

	if !opts.NoHeaders {
		table.ColumnDefinitions = append([]metav1.TableColumnDefinition(nil), p.columns...)
	}
	table.Rows = make([]metav1.TableRow, 0, len(items))
	for _, item := range items {
		row := metav1.TableRow{Cells: p.cells(item, now), Conditions: rowConditions(item)}
		embedded, err := rowObject(item, opts.IncludeObject)
		if err != nil {
			return nil, err
		}
		row.Object.Object = embedded
		table.Rows = append(table.Rows, row)
	}
	return table, nil
}

// itemOf returns an object of the list's item type: the first item, or a
// zero value of the Items field's element type for an empty list.
func itemOf(list runtime.Object, items []runtime.Object) runtime.Object {
	if len(items) > 0 {
		return items[0]
	}
	v := reflect.ValueOf(list)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("Items")
	if !f.IsValid() || f.Kind() != reflect.Slice {
		return nil
	}
	elem := f.Type().Elem()
	if elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	o, _ := reflect.New(elem).Interface().(runtime.Object)
	return o
}

// rowObject returns what a row carries for the policy, as kube-apiserver's
// table handler does.
func rowObject(obj runtime.Object, policy metav1.IncludeObjectPolicy) (runtime.Object, error) {
	switch policy {
	case metav1.IncludeNone:
		return nil, nil
	case metav1.IncludeObject:
		out := obj.DeepCopyObject()
		if out.GetObjectKind().GroupVersionKind().Empty() {
			gvks, _, err := api.Scheme.ObjectKinds(out)
			if err != nil {
				return nil, fmt.Errorf("kind of %T: %w", obj, err)
			}
			out.GetObjectKind().SetGroupVersionKind(gvks[0])
		}
		return out, nil
	default:
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, fmt.Errorf("metadata of %T: %w", obj, err)
		}
		partial := meta.AsPartialObjectMetadata(m)
		partial.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind("PartialObjectMetadata"))
		return partial, nil
	}
}

// rowConditions marks finished pods as kube-apiserver does, so that kubectl
// can hide them.
func rowConditions(obj runtime.Object) []metav1.TableRowCondition {
	if pod, ok := obj.(*corev1.Pod); ok {
		return podRowConditions(pod)
	}
	return nil
}
