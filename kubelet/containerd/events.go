package containerd

import (
	"context"
	"time"

	eventsapi "github.com/containerd/containerd/api/events"
	"github.com/containerd/typeurl/v2"
)

// watchExits records exits promptly: it finalizes every container whose
// task stopped while nobody watched, then follows /tasks/exit events. When
// the event stream breaks (containerd restarted) it reconnects and
// reconciles again. It ends with ctx.
func (r *Runtime) watchExits(ctx context.Context) {
	defer close(r.done)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		r.reconcileExits(ctx)
		events, errs := r.client.Subscribe(ctx, `topic=="/tasks/exit",namespace==`+r.opts.Namespace)
	stream:
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-errs:
				if ctx.Err() == nil {
					r.opts.Logger.Warn("containerd event stream broke; reconnecting", "err", err)
				}
				break stream
			case env := <-events:
				backoff = 100 * time.Millisecond
				ev, err := typeurl.UnmarshalAny(env.Event)
				if err != nil {
					continue
				}
				if exit, ok := ev.(*eventsapi.TaskExit); ok && exit.ID == exit.ContainerID {
					go r.finalizeQuietly(ctx, exit.ContainerID)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// reconcileExits finalizes all containers whose task has stopped.
func (r *Runtime) reconcileExits(ctx context.Context) {
	recs, err := r.listRecords(ctx, kindContainer, "")
	if err != nil {
		return
	}
	for _, rec := range recs {
		if rec.Labels[labelFinishedAt] == "" {
			r.finalizeQuietly(ctx, rec.ID)
		}
	}
}

func (r *Runtime) finalizeQuietly(ctx context.Context, id string) {
	if err := r.finalizeID(ctx, id); err != nil && ctx.Err() == nil {
		r.opts.Logger.Debug("record container exit", "container", id, "err", err)
	}
}
