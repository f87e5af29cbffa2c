package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"k8s.io/klog/v2"

	"github.com/navarch/navarch/config"
)

func TestKlogLinesComeOutThroughTheProcessLoggerInItsFormat(t *testing.T) {
	tests := []struct {
		name          string
		log           config.Log
		write         func()
		want, without []string
	}{
		{
			name:  "a structured info line",
			log:   config.Log{Level: "info", Format: "text"},
			write: func() { klog.InfoS("became leader", "lease", "kube-system/navarch-scheduler") },
			want:  []string{`level=INFO msg="became leader" logger=klog lease=kube-system/navarch-scheduler`},
		},
		{
			name:  "a reflector's warning",
			log:   config.Log{Level: "info", Format: "text"},
			write: func() { klog.Warningf("watch of %s ended with: %s", "*v1.Pod", "too old resource version") },
			want:  []string{`msg="watch of *v1.Pod ended with: too old resource version" logger=klog`},
		},
		{
			name:  "an error",
			log:   config.Log{Level: "info", Format: "text"},
			write: func() { klog.ErrorS(errors.New("connection refused"), "error retrieving resource lock") },
			want:  []string{`level=ERROR msg="error retrieving resource lock" logger=klog err="connection refused"`},
		},
		{
			name: "verbose lines at info",
			log:  config.Log{Level: "info", Format: "text"},
			write: func() {
				klog.V(2).InfoS("verbose")
				klog.FromContext(context.Background()).V(4).Info("contextual verbose")
				klog.InfoS("plain")
			},
			want:    []string{`msg=plain`},
			without: []string{"verbose"},
		},
		{
			name: "verbose lines at debug",
			log:  config.Log{Level: "debug", Format: "text"},
			write: func() {
				klog.V(2).InfoS("verbose")
				klog.FromContext(context.Background()).V(4).Info("contextual verbose")
				klog.V(6).InfoS("request trace")
			},
			want:    []string{`level=DEBUG msg=verbose logger=klog`, `level=DEBUG msg="contextual verbose" logger=klog`},
			without: []string{"request trace"},
		},
		{
			name:  "JSON",
			log:   config.Log{Level: "info", Format: "json"},
			write: func() { klog.InfoS("became leader", "lease", "kube-system/navarch-scheduler") },
			want:  []string{`"level":"INFO","msg":"became leader","logger":"klog","lease":"kube-system/navarch-scheduler"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger, err := newLogger(tt.log, &buf)
			if err != nil {
				t.Fatal(err)
			}
			level, _ := tt.log.SlogLevel()
			routeKlog(logger, level)
			t.Cleanup(resetKlog)
			tt.write()
			klog.Flush()
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("got log\n%s\nwant it to hold %s", out, w)
				}
			}
			for _, w := range tt.without {
				if strings.Contains(out, w) {
					t.Errorf("got log\n%s\nwant no %q in it", out, w)
				}
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if !strings.HasPrefix(line, "time=") && !strings.HasPrefix(line, `{"time":`) {
					t.Errorf("got line %q, want slog's format", line)
				}
			}
		})
	}
}

// resetKlog puts klog back as it starts: no logger, verbosity 0.
func resetKlog() {
	klog.ClearLogger()
	var fs flag.FlagSet
	klog.InitFlags(&fs)
	_ = fs.Set("v", "0")
}
