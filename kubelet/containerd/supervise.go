package containerd

import (
	"context"
	"sync"
	"time"
)

// Supervisor keeps a private containerd daemon running: navarch up and
// navarch agent use it when no --containerd-address is given.
type Supervisor struct {
	opts    DaemonOptions
	address string
	cancel  context.CancelFunc
	stopped chan struct{}

	mu     sync.Mutex
	daemon *Daemon
}

// Supervise starts a daemon (StartDaemon) and returns once it serves. If
// the daemon exits on its own it is started again on the same Dir and
// address, after a back-off of 1s doubling to 30s, until ctx ends or Stop
// is called; both stop the daemon.
func Supervise(ctx context.Context, opts DaemonOptions) (*Supervisor, error) {
	opts.defaults()
	d, err := StartDaemon(ctx, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Supervisor{opts: opts, address: d.Address(), cancel: cancel, stopped: make(chan struct{}), daemon: d}
	go s.loop(ctx)
	return s, nil
}

// Address is the daemon's socket; it does not change across restarts.
func (s *Supervisor) Address() string { return s.address }

// Pid is the process id of the daemon currently supervised.
func (s *Supervisor) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.daemon.Pid()
}

// Stop stops supervising and stops the daemon; it is idempotent.
func (s *Supervisor) Stop() error {
	s.cancel()
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.daemon.Stop()
}

func (s *Supervisor) loop(ctx context.Context) {
	defer close(s.stopped)
	backoff := time.Second
	for {
		s.mu.Lock()
		d := s.daemon
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-d.Done():
		}
		s.opts.Logger.Warn("containerd exited; restarting", "pid", d.Pid(), "err", d.waitErr, "backoff", backoff)
		d.Stop() // releases its log file
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		nd, err := StartDaemon(ctx, s.opts)
		if err != nil {
			s.opts.Logger.Error("restart containerd", "err", err)
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = time.Second
		s.mu.Lock()
		s.daemon = nd
		s.mu.Unlock()
	}
}
