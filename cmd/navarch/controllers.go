package main

import (
	"context"
	"log/slog"
	"net"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/navarch/navarch/apiserver"
	"github.com/navarch/navarch/config"
	"github.com/navarch/navarch/controllers"
	"github.com/navarch/navarch/internal/leader"
	"github.com/navarch/navarch/scheduler"
)

// clusterLoops are the control plane's loops that act on the cluster —
// the scheduler and the controller manager — each under leader election
// (Leases navarch-scheduler and navarch-controller-manager in
// kube-system), so that several servers on one etcd cluster run one of
// each. Each term of leadership starts a fresh scheduler or manager.
type clusterLoops struct {
	cfg      *config.Config
	log      *slog.Logger
	srv      *apiserver.Server
	identity string
}

func newClusterLoops(cfg *config.Config, logger *slog.Logger, srv *apiserver.Server) *clusterLoops {
	return &clusterLoops{cfg: cfg, log: logger, srv: srv, identity: leader.Identity()}
}

// loopbackConfig reaches this process's API server as the admin, with
// rate limits high enough not to throttle the loops, on a connection of
// its own (client-go would otherwise share one HTTP/2 connection among
// every client of the process, as it does for equal TLS settings).
func loopbackConfig(srv *apiserver.Server, userAgent string, qps float32) *rest.Config {
	return &rest.Config{
		Host:            srv.URL(),
		BearerToken:     srv.AdminToken(),
		TLSClientConfig: rest.TLSClientConfig{CAData: srv.CAPEM()},
		QPS:             qps,
		Burst:           int(2 * qps),
		UserAgent:       userAgent,
		Dial:            (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
}

// leaderOptions are the configured election timings.
func leaderOptions(cfg *config.Config, logger *slog.Logger) leader.Options {
	return leader.Options{
		LeaseDuration: cfg.Controllers.LeaseDuration,
		RenewDeadline: cfg.Controllers.RenewDeadline,
		RetryPeriod:   cfg.Controllers.RetryPeriod,
		Logger:        logger,
	}
}

// run runs both loops until ctx ends.
func (c *clusterLoops) run(ctx context.Context) error {
	electionClient, err := kubernetes.NewForConfig(loopbackConfig(c.srv, "navarch-leader-election", 50))
	if err != nil {
		return err
	}
	schedLog := c.log.With("component", "scheduler")
	cmLog := c.log.With("component", "controller-manager")
	return runBeside(ctx,
		func(ctx context.Context) error {
			return leader.Run(ctx, electionClient, leader.SchedulerLease, c.identity, c.runScheduler, leaderOptions(c.cfg, schedLog))
		},
		func(ctx context.Context) error {
			return leader.Run(ctx, electionClient, leader.ControllerManagerLease, c.identity, c.runControllers, leaderOptions(c.cfg, cmLog))
		},
	)
}

// runScheduler runs one term of the scheduler.
func (c *clusterLoops) runScheduler(ctx context.Context) {
	log := c.log.With("component", "scheduler")
	cs, err := kubernetes.NewForConfig(loopbackConfig(c.srv, "navarch-scheduler", 5000))
	if err == nil {
		var sh *scheduler.Shell
		if sh, err = scheduler.NewShell(scheduler.ShellOptions{Client: cs, Logger: c.log}); err == nil {
			err = sh.Run(ctx)
		}
	}
	if err != nil {
		log.Error("scheduler stopped", "error", err)
		pause(ctx)
	}
}

// runControllers runs one term of the controller manager.
func (c *clusterLoops) runControllers(ctx context.Context) {
	cc := c.cfg.Controllers
	m, err := controllers.New(controllers.Options{
		Config:                   loopbackConfig(c.srv, "navarch-controller-manager", 2000),
		NodeMonitorPeriod:        cc.NodeMonitorPeriod,
		NodeMonitorGracePeriod:   cc.NodeMonitorGracePeriod,
		DefaultTolerationSeconds: int64(cc.DefaultTolerationSeconds),
		TerminatedPodGCThreshold: cc.TerminatedPodGCThreshold,
		ClusterCIDR:              c.cfg.Server.ClusterCIDR,
		Logger:                   c.log,
	})
	if err == nil {
		err = m.Run(ctx)
	}
	if err != nil {
		c.log.Error("controller manager stopped", "component", "controller-manager", "error", err)
		pause(ctx)
	}
}

// pause waits a little before a failed term gives up its lease, so a
// persistent failure does not spin.
func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
}

// leading runs work under the Lease name for one term: work that cannot
// start twice (the reconciler) ends the process's control plane when its
// leadership is lost, as Kubernetes' components exit then.
func (c *clusterLoops) leading(name string, work func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		cs, err := kubernetes.NewForConfig(loopbackConfig(c.srv, "navarch-leader-election", 50))
		if err != nil {
			return err
		}
		opts := leaderOptions(c.cfg, c.log.With("component", name))
		opts.Once = true
		var workErr error
		err = leader.Run(ctx, cs, name, c.identity, func(ctx context.Context) { workErr = work(ctx) }, opts)
		if workErr != nil {
			return workErr
		}
		return err
	}
}
