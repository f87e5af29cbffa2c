package leader

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
)

func metaFor(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}

// round runs one election: campaign, run work while leading, release. The
// elector runs on a context of its own, cancelled only after work has
// returned, so the Lease (ReleaseOnCancel) is never released while work
// still runs. work's context ends when ctx ends or leadership is lost; if
// work returns early, leadership is given up. led tells whether work ran.
func round(ctx context.Context, cfg leaderelection.LeaderElectionConfig, log *slog.Logger, work func(context.Context)) (led bool, err error) {
	leading := make(chan context.Context, 1)
	cfg.Callbacks.OnStartedLeading = func(lctx context.Context) { leading <- lctx }
	le, err := leaderelection.NewLeaderElector(cfg)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	ectx, stopElector := context.WithCancel(context.Background())
	defer stopElector()
	done := make(chan struct{})
	go func() {
		defer close(done)
		le.Run(ectx)
	}()
	select {
	case <-ctx.Done():
	case <-done:
		return false, nil
	case lctx := <-leading:
		led = true
		log.Info("leading")
		wctx, cancel := context.WithCancel(lctx)
		stop := context.AfterFunc(ctx, cancel)
		work(wctx)
		stop()
		cancel()
	}
	stopElector()
	<-done
	return led, nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
