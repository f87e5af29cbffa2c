package apiserver

import (
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/apiserver/printers"
)

// toTable renders an object or a list as the meta.k8s.io Table kubectl get
// asks for; headers says whether the table carries its column definitions
// (a watch sends them with the first event only), besides what the
// request's table options (out.table) ask.
func (s *Server) toTable(out output, obj runtime.Object, headers bool) (runtime.Object, error) {
	table, err := printers.ToTable(obj, printers.TableOptions{
		NoHeaders:     out.table.NoHeaders || !headers,
		IncludeObject: out.table.IncludeObject,
		Now:           s.now(),
	})
	if errors.Is(err, printers.ErrIncludeObject) {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	table.APIVersion = metaGroup + "/" + out.metaVersion
	table.Kind = asTable
	return table, nil
}
