package apiserver

import (
	"net/http"
)

// serveGet answers GET of one object (or of its status subresource, which
// is the same object).
func (s *Server) serveGet(rr *resourceRequest) {
	obj := rr.res.New()
	if err := s.store.Get(rr.ctx(), rr.key(), obj); err != nil {
		rr.fail(storeError(err, rr.gr(), rr.info.Name))
		return
	}
	s.writeObject(rr, http.StatusOK, obj)
}
