package config

import (
	"errors"
	"fmt"
	"time"
)

// Controllers configures the control plane's loops: the scheduler and
// the controller manager, and the leader election that lets several
// servers share one cluster.
type Controllers struct {
	// LeaseDuration, RenewDeadline and RetryPeriod shape the leader
	// election of the scheduler, the controller manager and the
	// reconciler: a dead leader is replaced after LeaseDuration.
	LeaseDuration time.Duration `mapstructure:"leader-elect-lease-duration"`
	RenewDeadline time.Duration `mapstructure:"leader-elect-renew-deadline"`
	RetryPeriod   time.Duration `mapstructure:"leader-elect-retry-period"`
	// NodeMonitorGracePeriod is how long a node's Lease may go unrenewed
	// before the node is marked Ready=Unknown and tainted unreachable.
	NodeMonitorGracePeriod time.Duration `mapstructure:"node-monitor-grace-period"`
	// NodeMonitorPeriod is how often node health is checked.
	NodeMonitorPeriod time.Duration `mapstructure:"node-monitor-period"`
	// DefaultTolerationSeconds is how long pods stay on a not-ready or
	// unreachable node unless they tolerate it otherwise.
	DefaultTolerationSeconds int `mapstructure:"default-toleration-seconds"`
	// TerminatedPodGCThreshold is how many finished pods are kept; the
	// oldest beyond it are deleted. Negative keeps them all.
	TerminatedPodGCThreshold int `mapstructure:"terminated-pod-gc-threshold"`
}

// ControllerOptions returns the options of the scheduler, the controller
// manager and leader election (navarch server, navarch up).
func ControllerOptions() []Option {
	return []Option{
		{Key: "controllers.leader-elect-lease-duration", Flag: "leader-elect-lease-duration", Usage: "how long a dead leader keeps its lease before another server takes over", Default: 15 * time.Second},
		{Key: "controllers.leader-elect-renew-deadline", Flag: "leader-elect-renew-deadline", Usage: "how long a leader retries renewing before it gives up", Default: 10 * time.Second},
		{Key: "controllers.leader-elect-retry-period", Flag: "leader-elect-retry-period", Usage: "time between attempts to acquire or renew leadership", Default: 2 * time.Second},
		{Key: "controllers.node-monitor-grace-period", Flag: "node-monitor-grace-period", Usage: "how long a node may stop renewing its lease before it is marked unreachable", Default: 40 * time.Second},
		{Key: "controllers.node-monitor-period", Flag: "node-monitor-period", Usage: "how often node health is checked", Default: 5 * time.Second},
		{Key: "controllers.default-toleration-seconds", Flag: "default-toleration-seconds", Usage: "seconds pods stay on a not-ready or unreachable node unless they say otherwise", Default: 300},
		{Key: "controllers.terminated-pod-gc-threshold", Flag: "terminated-pod-gc-threshold", Usage: "finished pods kept before the oldest are deleted (negative: keep all)", Default: 12500},
	}
}

// Validate reports durations that cannot work together.
func (c Controllers) Validate() error {
	var errs []error
	if c.LeaseDuration <= c.RenewDeadline {
		errs = append(errs, fmt.Errorf("controllers.leader-elect-lease-duration: want more than the renew deadline %s, got %s", c.RenewDeadline, c.LeaseDuration))
	}
	if float64(c.RenewDeadline) <= 1.2*float64(c.RetryPeriod) {
		errs = append(errs, fmt.Errorf("controllers.leader-elect-renew-deadline: want more than 1.2 × the retry period %s, got %s", c.RetryPeriod, c.RenewDeadline))
	}
	if c.RetryPeriod <= 0 {
		errs = append(errs, fmt.Errorf("controllers.leader-elect-retry-period: want a positive duration, got %s", c.RetryPeriod))
	}
	if c.NodeMonitorGracePeriod <= 0 || c.NodeMonitorPeriod <= 0 {
		errs = append(errs, errors.New("controllers.node-monitor-grace-period and node-monitor-period: want positive durations"))
	}
	if c.DefaultTolerationSeconds < 0 {
		errs = append(errs, fmt.Errorf("controllers.default-toleration-seconds: want 0 or more, got %d", c.DefaultTolerationSeconds))
	}
	return errors.Join(errs...)
}
