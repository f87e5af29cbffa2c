package controllers

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/kubelet/hollow"
	"github.com/navarch/navarch/scheduler"
)

// BenchmarkRollout1000ReplicasOn100HollowNodes creates a 1,000-replica
// Deployment (25% surge and unavailability) on 100 hollow nodes, waits
// until it is available, then changes its image and measures the time
// until the rollout is complete as `kubectl rollout status` sees it.
//
//	go test ./controllers -run '^$' -bench Rollout1000 -benchtime 1x
func BenchmarkRollout1000ReplicasOn100HollowNodes(b *testing.B) {
	srv := testserver.Start(b)
	cs := srv.ClientSet()
	// The scheduler and the controllers each on their own connection, as
	// in navarch server; the hollow nodes share the test's.
	own := func(qps float32) kubernetes.Interface {
		cfg := srv.RESTConfig()
		cfg.QPS, cfg.Burst = qps, int(2*qps)
		cfg.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	mgrCfg := srv.RESTConfig()
	mgrCfg.QPS, mgrCfg.Burst = 2000, 4000
	mgrCfg.Dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	mgr, err := New(Options{Config: mgrCfg, Controllers: []string{ReplicaSetController, DeploymentController}, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	sh, err := scheduler.NewShell(scheduler.ShellOptions{Client: own(5000), Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	nodes, err := hollow.Start(context.Background(), hollow.Options{Count: 100, NamePrefix: "perf-", Client: cs, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = nodes.Stop() })
	runUntilCleanup(b, "controller manager", mgr.Run)
	runUntilCleanup(b, "scheduler", sh.Run)

	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("big-%d", i)
		start := time.Now()
		if _, err := cs.AppsV1().Deployments("default").Create(context.Background(), deployment(name, 1000, "registry.example/app:1"), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		waitComplete(b, cs, name, 5*time.Minute)
		b.Logf("1,000 replicas available on 100 hollow nodes in %s", time.Since(start).Round(time.Millisecond))
		b.StartTimer()
		start = time.Now()
		setImage(b, cs, name, "registry.example/app:2")
		stopTrace := traceRollout(cs, name)
		waitComplete(b, cs, name, 5*time.Minute)
		stopTrace()
		took := time.Since(start)
		b.StopTimer()
		b.ReportMetric(took.Seconds(), "s-to-roll")
		b.Logf("rolled 1,000 replicas to a new image in %s", took.Round(time.Millisecond))
		if err := cs.AppsV1().Deployments("default").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// traceRollout prints the Deployment's and its ReplicaSets' counts every
// second to standard error when NAVARCH_PERF_TRACE is set.
func traceRollout(cs kubernetes.Interface, name string) func() {
	if os.Getenv("NAVARCH_PERF_TRACE") == "" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	go func() {
		for ctx.Err() == nil {
			time.Sleep(time.Second)
			d, err := cs.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			line := fmt.Sprintf("t=%2.0fs deploy updated=%d ready=%d available=%d replicas=%d gen=%d/%d |",
				time.Since(start).Seconds(), d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.Replicas, d.Status.ObservedGeneration, d.Generation)
			rss, _ := cs.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
			for _, rs := range rss.Items {
				line += fmt.Sprintf(" %s spec=%d replicas=%d ready=%d avail=%d", rs.Name[len(rs.Name)-4:], *rs.Spec.Replicas, rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas)
			}
			fmt.Fprintln(os.Stderr, line)
		}
	}()
	return cancel
}
