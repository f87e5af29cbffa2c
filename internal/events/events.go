// Package events gives navarch's API clients (scheduler, controllers) a
// client-go event recorder that writes core/v1 Events to the API server.
//
// Recording never blocks the caller: events queue in client-go's
// broadcaster (up to 1,000; beyond that they are dropped, as in
// Kubernetes), are correlated there — repeats of one event become one
// Event whose count grows, floods from one object are aggregated and
// rate limited — and are written by one goroutine that ends with ctx.
package events

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// NewRecorder starts a broadcaster writing through cs and returns a
// recorder whose events name component as their source. The broadcaster
// stops when ctx ends; events recorded after that are dropped.
func NewRecorder(ctx context.Context, cs kubernetes.Interface, component string, logger *slog.Logger) record.EventRecorder {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	if logger != nil && logger.Enabled(ctx, slog.LevelDebug) {
		b.StartEventWatcher(func(e *corev1.Event) {
			logger.Debug("event", "object", e.InvolvedObject.Kind+"/"+e.InvolvedObject.Namespace+"/"+e.InvolvedObject.Name,
				"type", e.Type, "reason", e.Reason, "message", e.Message)
		})
	}
	context.AfterFunc(ctx, b.Shutdown)
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
}
