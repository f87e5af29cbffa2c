package main

import (
	"context"
	"fmt"
	"log/slog"

	"golang.org/x/sync/errgroup"
)

// component is one long-running part of a navarch process (the control
// plane; later a node's kubelet and proxy, the scheduler, the controllers
// and the reconciler). run blocks until ctx ends or the part fails, and
// returns nil after a graceful stop.
type component struct {
	name string
	run  func(ctx context.Context) error
}

// runComponents runs every component until ctx ends; the first one that
// fails stops the others. It returns that failure, or nil when all of them
// stopped because ctx ended.
func runComponents(ctx context.Context, logger *slog.Logger, comps ...component) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, c := range comps {
		g.Go(func() error {
			err := c.run(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			logger.Info("stopped", "component", c.name)
			return nil
		})
	}
	return g.Wait()
}
