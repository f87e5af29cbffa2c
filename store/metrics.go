package store

import (
	"strings"
	"time"
)

// observe reports one etcd operation to the metrics sink, if any.
func (s *Store) observe(op, key string, start time.Time, err error) {
	if s.opts.Metrics == nil {
		return
	}
	s.opts.Metrics.ObserveEtcd(op, resourceOf(key), time.Since(start), err)
}

// resourceOf returns "<group>/<resource>" of a key under /registry/, the
// metric label of an operation on it, and "other" for any other key.
func resourceOf(key string) string {
	parts := strings.SplitN(strings.TrimPrefix(key, "/"), "/", 4)
	if len(parts) < 3 || parts[0] != "registry" || parts[1] == "" || parts[2] == "" {
		return "other"
	}
	return parts[1] + "/" + parts[2]
}
