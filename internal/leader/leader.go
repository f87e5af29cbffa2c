package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Namespace is where navarch's leader Leases live.
const Namespace = "kube-system"

// The Leases of navarch's control-plane loops.
const (
	SchedulerLease         = "navarch-scheduler"
	ControllerManagerLease = "navarch-controller-manager"
	ReconcilerLease        = "navarch-reconciler"
)

// ErrInvalidOptions is returned by Options.Validate and Run.
var ErrInvalidOptions = errors.New("invalid leader election options")

// ErrLeadershipLost is returned by Run with Options.Once when the term
// ended while its context was still live.
var ErrLeadershipLost = errors.New("leadership lost")

// Options tune the election. The zero value means Kubernetes' defaults
// (15 s lease, 10 s renew deadline, 2 s retry).
type Options struct {
	// LeaseDuration is how long a candidate waits after the last observed
	// renewal before it takes the Lease over: the failover time after a
	// leader dies without releasing.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps retrying a renewal before
	// it gives leadership up; less than LeaseDuration.
	RenewDeadline time.Duration
	// RetryPeriod is the time between attempts to acquire or renew.
	RetryPeriod time.Duration
	// Namespace of the Lease; "" means kube-system.
	Namespace string
	// Logger receives leadership changes; nil discards them.
	Logger *slog.Logger
	// Once runs work for one term only: when leadership is lost, Run
	// returns ErrLeadershipLost instead of campaigning again (for work
	// that cannot start twice; Kubernetes' components exit then).
	Once bool
}

// Defaults of Options, as Kubernetes' components use them.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

func (o Options) withDefaults() Options {
	if o.LeaseDuration == 0 {
		o.LeaseDuration = DefaultLeaseDuration
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = DefaultRenewDeadline
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = DefaultRetryPeriod
	}
	if o.Namespace == "" {
		o.Namespace = Namespace
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Validate reports durations that client-go would refuse: the lease must
// outlast the renew deadline, which must outlast the retry period (by
// client-go's jitter factor of 1.2).
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.LeaseDuration < 0 || o.RenewDeadline < 0 || o.RetryPeriod < 0:
		return fmt.Errorf("%w: negative duration", ErrInvalidOptions)
	case o.LeaseDuration <= o.RenewDeadline:
		return fmt.Errorf("%w: lease duration %s must be greater than renew deadline %s", ErrInvalidOptions, o.LeaseDuration, o.RenewDeadline)
	case o.RenewDeadline <= time.Duration(leaderelection.JitterFactor*float64(o.RetryPeriod)):
		return fmt.Errorf("%w: renew deadline %s must be greater than 1.2 × retry period %s", ErrInvalidOptions, o.RenewDeadline, o.RetryPeriod)
	}
	return nil
}

// Identity returns a candidate identity unique to this process: the host
// name, the process ID and a random suffix ("host_1234_x7k2p").
func Identity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "navarch"
	}
	return fmt.Sprintf("%s_%d_%s", host, os.Getpid(), rand.String(5))
}

// Run campaigns for the Lease name under identity and runs work while it
// leads, with a context that ends when leadership is lost or ctx ends. It
// campaigns again after a loss, and returns nil once ctx has ended and the
// work has returned (the Lease then released). It fails at once, wrapping
// ErrInvalidOptions, on bad options or an empty name or identity; with
// Options.Once it returns ErrLeadershipLost after a term lost.
func Run(ctx context.Context, cs kubernetes.Interface, name, identity string, work func(ctx context.Context), opts ...Options) error {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if name == "" || identity == "" {
		return fmt.Errorf("%w: lease name and identity are required", ErrInvalidOptions)
	}
	o = o.withDefaults()
	log := o.Logger.With("lease", name, "identity", identity)
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaFor(o.Namespace, name),
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	for ctx.Err() == nil {
		cfg := leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   o.LeaseDuration,
			RenewDeadline:   o.RenewDeadline,
			RetryPeriod:     o.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStoppedLeading: func() { log.Info("stopped leading") },
				OnNewLeader: func(id string) {
					if id != identity {
						log.Info("leader elected", "leader", id)
					}
				},
			},
		}
		led, err := round(ctx, cfg, log, work)
		if err != nil {
			return err
		}
		if led && o.Once && ctx.Err() == nil {
			return fmt.Errorf("lease %s: %w", name, ErrLeadershipLost)
		}
		if ctx.Err() == nil {
			log.Warn("lost leadership; campaigning again")
			sleep(ctx, o.RetryPeriod)
		}
	}
	return nil
}
