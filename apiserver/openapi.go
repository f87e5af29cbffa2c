package apiserver

import (
	"fmt"
	"net/http"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/apiserver/openapi"
)

// openAPIHandler serves /openapi/v3 and its documents, which it builds on
// first use: kubectl asks for them on apply, most other clients never do,
// and building them should not slow the server's start.
type openAPIHandler struct {
	once    sync.Once
	handler http.Handler
	err     error
}

func (o *openAPIHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.once.Do(func() {
		docs, err := openapi.Documents(api.Resources())
		if err != nil {
			o.err = fmt.Errorf("build openapi documents: %w", err)
			return
		}
		o.handler = openapi.Handler(docs)
	})
	if o.err != nil {
		writeError(w, r, apierrors.NewInternalError(o.err))
		return
	}
	o.handler.ServeHTTP(w, r)
}
