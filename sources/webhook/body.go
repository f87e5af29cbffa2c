package webhook

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DefaultMaxBody is the largest body ReadBody accepts by default: 1 MiB.
// GitHub caps its payloads at 25 MB, but a push of manifests is a few KiB
// and navarch reads only the ref and the commit.
const DefaultMaxBody = 1 << 20

// ReadBody reads r's body, at most limit bytes (DefaultMaxBody when limit
// is zero or negative), through http.MaxBytesReader so that the server also
// stops reading the connection. A larger body fails with ErrTooLarge.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, r.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read webhook body: %w", err)
	}
	return body, nil
}
