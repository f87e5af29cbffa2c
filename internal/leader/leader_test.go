package leader

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/testserver"
)

var fast = Options{LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond}

func TestBadOptionsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"lease not longer than renew deadline", Options{LeaseDuration: time.Second, RenewDeadline: time.Second}},
		{"renew deadline within the retry jitter", Options{LeaseDuration: 5 * time.Second, RenewDeadline: time.Second, RetryPeriod: time.Second}},
		{"negative duration", Options{RetryPeriod: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Run(context.Background(), nil, "x", "y", func(context.Context) {}, tc.opts)
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("got %v, want ErrInvalidOptions", err)
			}
		})
	}
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("defaults: got %v, want nil", err)
	}
}

// TestOneCandidateLeadsAndAnotherTakesOverWhenItStops runs two candidates:
// exactly one works at a time, the Lease names it, and when its context
// ends the other takes over at once (the Lease is released).
func TestOneCandidateLeadsAndAnotherTakesOverWhenItStops(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	var active atomic.Int32
	var overlap atomic.Bool
	leading := make(chan string, 4)
	work := func(id string) func(context.Context) {
		return func(ctx context.Context) {
			if active.Add(1) > 1 {
				overlap.Store(true)
			}
			leading <- id
			<-ctx.Done()
			time.Sleep(100 * time.Millisecond) // finishing touches, still exclusive
			active.Add(-1)
		}
	}
	ctxs := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	for _, id := range []string{"a", "b"} {
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[id] = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Run(ctx, cs, "test-lease", id, work(id), fast); err != nil {
				t.Errorf("run %s: %v", id, err)
			}
		}()
	}
	t.Cleanup(func() {
		for _, c := range ctxs {
			c()
		}
		wg.Wait()
	})
	first := waitLeader(t, leading, 10*time.Second)
	lease, err := cs.CoordinationV1().Leases(Namespace).Get(context.Background(), "test-lease", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *lease.Spec.HolderIdentity; got != first {
		t.Fatalf("lease holder: got %q, want %q", got, first)
	}
	start := time.Now()
	ctxs[first]()
	second := waitLeader(t, leading, 10*time.Second)
	if second == first {
		t.Fatalf("got %q leading again, want the other candidate", second)
	}
	if d := time.Since(start); d > fast.LeaseDuration {
		t.Errorf("takeover after a release took %s, want less than the lease duration %s", d, fast.LeaseDuration)
	}
	if overlap.Load() {
		t.Error("two candidates worked at once")
	}
}

func waitLeader(t *testing.T, ch <-chan string, d time.Duration) string {
	t.Helper()
	select {
	case id := <-ch:
		return id
	case <-time.After(d):
		t.Fatalf("no leader within %s", d)
		return ""
	}
}

func TestOnceReturnsWhenTheTermEnds(t *testing.T) {
	srv := testserver.Start(t)
	opts := fast
	opts.Once = true
	ran := 0
	err := Run(context.Background(), srv.ClientSet(), "once-lease", "solo", func(context.Context) { ran++ }, opts)
	if !errors.Is(err, ErrLeadershipLost) || ran != 1 {
		t.Fatalf("got %v after %d terms, want ErrLeadershipLost after 1", err, ran)
	}
}
