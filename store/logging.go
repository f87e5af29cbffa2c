package store

import (
	"sync/atomic"

	"go.etcd.io/etcd/client/pkg/v3/logutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// etcdLogger returns the zap logger of the embedded etcd: errors only
// (info and up with debug) on stderr, and nothing once closing is set, as
// etcd reports its own shutdown (closed listeners, stopped servers) as
// errors. Without debug it also drops one known start-up race that etcd
// logs as an error and retries by itself: with the fast election of a
// single member, its storage version monitor may run before the backend
// has committed the raft term ("failed to update storage version …
// missing term information").
func etcdLogger(debug bool, closing *atomic.Bool) (*zap.Logger, error) {
	cfg := logutil.DefaultZapLoggerConfig
	cfg.OutputPaths = []string{"stderr"}
	cfg.ErrorOutputPaths = []string{"stderr"}
	cfg.Level = zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	if debug {
		cfg.Level = zap.NewAtomicLevelAt(zapcore.InfoLevel)
	}
	lg, err := cfg.Build()
	if err != nil {
		return nil, err
	}
	return lg.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return &quietCore{Core: c, closing: closing, debug: debug}
	})), nil
}

// quietCore drops every entry once closing is set, and the start-up race
// above unless debug is set.
type quietCore struct {
	zapcore.Core
	closing *atomic.Bool
	debug   bool
}

func (c *quietCore) With(fields []zapcore.Field) zapcore.Core {
	return &quietCore{Core: c.Core.With(fields), closing: c.closing, debug: c.debug}
}

func (c *quietCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.closing.Load() || (!c.debug && e.Message == "failed to update storage version") {
		return ce
	}
	return c.Core.Check(e, ce)
}
