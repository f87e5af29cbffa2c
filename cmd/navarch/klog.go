package main

import (
	"context"
	"flag"
	"log/slog"
	"strconv"

	"k8s.io/klog/v2"
)

// routeKlog sends what the Kubernetes libraries log through klog
// (client-go's leader election, reflectors and work queues, apimachinery's
// runtime errors) to logger, tagged logger=klog, so that a navarch process
// logs in one format. klog's verbosity follows level: its V(0) lines and
// errors at info and above, and V(1) to V(4) as well at debug, where they
// are logged as debug. It changes klog's process-wide state: call it once,
// at start, before anything logs.
func routeKlog(logger *slog.Logger, level slog.Level) {
	klog.SetSlogLogger(slog.New(klogHandler{logger.Handler()}).With("logger", "klog"))
	verbosity := 0
	if level < slog.LevelInfo {
		verbosity = min(int(slog.LevelInfo-level), int(slog.LevelInfo-slog.LevelDebug))
	}
	var fs flag.FlagSet
	klog.InitFlags(&fs)
	_ = fs.Set("v", strconv.Itoa(verbosity)) // a valid number cannot fail
}

// klogHandler logs klog's verbose lines, which arrive at slog levels -1
// to -4 (minus their verbosity), at debug.
type klogHandler struct{ slog.Handler }

// klogLevel maps the levels between debug and info to debug.
func klogLevel(l slog.Level) slog.Level {
	if l > slog.LevelDebug && l < slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}

func (h klogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.Handler.Enabled(ctx, klogLevel(l))
}

func (h klogHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level = klogLevel(r.Level)
	return h.Handler.Handle(ctx, r)
}

func (h klogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return klogHandler{h.Handler.WithAttrs(attrs)}
}

func (h klogHandler) WithGroup(name string) slog.Handler {
	return klogHandler{h.Handler.WithGroup(name)}
}
