package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/navarch/navarch/internal/proctest"
)

// BenchmarkCommitToReady measures, over 20 commits to the quickstart's
// repository, the time from `git push` (whose hook sends the webhook) to
// every pod of the changed 3-replica Deployment being Ready, as a watch
// through the navarch client sees it. Each commit changes the pod
// template (an environment variable), so each is a rolling update of 3
// pods with a local image.
func BenchmarkCommitToReady(b *testing.B) {
	const commits, replicas = 20, 3
	w := newWorld(b)
	c := w.quickstart()
	repo := w.clone("file://" + c.repo)
	const file = "apps/web/deployment.yaml"
	repo.replace(file, "replicas: 2", fmt.Sprintf("replicas: %d", replicas))
	repo.replace(file, "        env:\n", "        env:\n        - {name: RELEASE, value: \"0\"}\n")
	sha, _ := repo.commitAndPush("Scale web to 3")
	c.waitSourceReady(sha, 2*time.Minute)
	watch := c.watch(b, "deployment", "web", "-n", appNamespace)

	b.ResetTimer()
	for range b.N {
		var took []time.Duration
		for i := 1; i <= commits; i++ {
			repo.replace(file, fmt.Sprintf("{name: RELEASE, value: \"%d\"}", i-1), fmt.Sprintf("{name: RELEASE, value: \"%d\"}", i))
			w.git(repo.dir, "commit", "-q", "-am", fmt.Sprintf("Release %d", i))
			start := time.Now()
			w.git(repo.dir, "push", "-q", "origin", "HEAD:main")
			at := waitRolledOut(b, watch, strconv.Itoa(i), replicas, 2*time.Minute)
			took = append(took, at.Sub(start))
		}
		b.Logf("each commit, in order: %v", took)
		slices.Sort(took)
		b.ReportMetric(percentile(took, 50).Seconds(), "p50-s")
		b.ReportMetric(percentile(took, 99).Seconds(), "p99-s")
		b.ReportMetric(took[len(took)-1].Seconds(), "max-s")
		b.Logf("commit pushed → %d pods Ready, %d commits: p50 %s, p99 %s, min %s, max %s", replicas, commits,
			percentile(took, 50), percentile(took, 99), took[0], took[len(took)-1])
	}
}

// waitRolledOut reads the Deployment watch until the Deployment with
// RELEASE=release in its template has all replicas updated and Ready, and
// returns when that event arrived.
func waitRolledOut(b *testing.B, wt *watcher, release string, replicas int32, timeout time.Duration) time.Time {
	b.Helper()
	deadline := time.After(timeout)
	last := "no event"
	for {
		select {
		case ev, ok := <-wt.events:
			if !ok {
				b.Fatalf("the Deployment watch ended: %s", wt.stderr.String())
			}
			var d appsv1.Deployment
			if err := json.Unmarshal(ev.object, &d); err != nil {
				b.Fatal(err)
			}
			s := d.Status
			last = fmt.Sprintf("release %s, generation %d/%d, updated %d, ready %d, replicas %d",
				envValue(d.Spec.Template.Spec.Containers, "RELEASE"), s.ObservedGeneration, d.Generation,
				s.UpdatedReplicas, s.ReadyReplicas, s.Replicas)
			if envValue(d.Spec.Template.Spec.Containers, "RELEASE") == release && s.ObservedGeneration == d.Generation &&
				s.UpdatedReplicas == replicas && s.ReadyReplicas == replicas && s.Replicas == replicas {
				return ev.at
			}
		case <-deadline:
			b.Fatalf("release %s not rolled out after %s; last: %s", release, timeout, last)
		}
	}
}

func envValue(cs []corev1.Container, name string) string {
	for _, c := range cs {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// percentile is the nearest-rank percentile p of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// BenchmarkUpToNodeReady measures `navarch up` from the start of the
// process to its Node being Ready (the API server, the store, containerd
// started as its child, the kubelet registered and reporting), five times
// on a fresh data dir and five times restarting on the same one.
func BenchmarkUpToNodeReady(b *testing.B) {
	const runs = 5
	w := newWorld(b)
	b.ResetTimer()
	for range b.N {
		var fresh, again []time.Duration
		for i := 0; i < runs; i++ {
			dataDir := filepath.Join(w.dir, fmt.Sprintf("up%d", i))
			fresh = append(fresh, timeUpToNodeReady(b, w, dataDir, fmt.Sprintf("up%d-fresh", i)))
			// Past the second of the last heartbeat, so that only one of
			// the next run counts (see nodeReady).
			time.Sleep(1100 * time.Millisecond)
			again = append(again, timeUpToNodeReady(b, w, dataDir, fmt.Sprintf("up%d-restart", i)))
		}
		slices.Sort(fresh)
		slices.Sort(again)
		b.ReportMetric(percentile(fresh, 50).Seconds(), "fresh-p50-s")
		b.ReportMetric(percentile(again, 50).Seconds(), "restart-p50-s")
		b.Logf("navarch up → Node Ready: fresh data dir %v; restart %v", fresh, again)
	}
}

// timeUpToNodeReady starts navarch up on dataDir, waits for its Node to be
// Ready by a heartbeat of this run (polling with client-go every 10 ms once
// the kubeconfig exists), stops it, and returns the time to Ready.
func timeUpToNodeReady(b *testing.B, w *world, dataDir, label string) time.Duration {
	b.Helper()
	kubeconfig := filepath.Join(dataDir, "kubeconfig")
	_ = os.Remove(kubeconfig) // a restart must not read the old one
	args := append([]string{w.bin, "up", "--data-dir=" + dataDir}, w.clusterFlags(proctest.FreePort(b))...)
	args = append(args, w.nodeFlags("a")...)
	start := time.Now()
	p := w.start(label, w.env(), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var client kubernetes.Interface
	for {
		if ctx.Err() != nil {
			b.Fatalf("%s: no Ready node after 2 minutes:\n%s", label, p.Tail(40))
		}
		w.checkAlive()
		if client == nil {
			if cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig); err == nil {
				client, _ = kubernetes.NewForConfig(cfg)
			}
		}
		if client != nil && nodeReady(ctx, client, w.name("a"), start) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	if err := p.Stop(stopGrace); err != nil {
		b.Error(err)
	}
	w.procs = slices.DeleteFunc(w.procs, func(q *proctest.Process) bool { return q == p })
	return took
}

// nodeReady reports whether the Node is Ready by a heartbeat of this run:
// after a restart the stored Node still says Ready from the run before.
// Heartbeat times have whole seconds, so since is truncated to one.
func nodeReady(ctx context.Context, client kubernetes.Interface, name string, since time.Time) bool {
	n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue && !c.LastHeartbeatTime.Time.Before(since.Truncate(time.Second))
		}
	}
	return false
}

// BenchmarkIdleRSS measures the resident memory of `navarch up` (not
// counting its containerd child or the containers) once the quickstart's
// example application runs and the cluster has been idle for 30 seconds:
// the largest and the mean of 10 samples a second apart.
func BenchmarkIdleRSS(b *testing.B) {
	w := newWorld(b)
	c := w.quickstart()
	pid := c.upPID()
	b.ResetTimer()
	for range b.N {
		time.Sleep(30 * time.Second)
		var peak, sum int64
		var ctd int64
		for i := 0; i < 10; i++ {
			kb := rssKB(b, pid)
			sum += kb
			peak = max(peak, kb)
			for child, p := range proctest.Processes() {
				if p.PPID == pid && strings.Contains(strings.Join(p.Args, " "), "containerd") {
					ctd = max(ctd, rssKB(b, child))
				}
			}
			time.Sleep(time.Second)
		}
		b.ReportMetric(float64(peak)/1024, "rss-max-MiB")
		b.ReportMetric(float64(sum)/10/1024, "rss-mean-MiB")
		b.Logf("navarch up idle RSS: max %.1f MiB, mean %.1f MiB (its containerd child, not counted: %.1f MiB)",
			float64(peak)/1024, float64(sum)/10/1024, float64(ctd)/1024)
	}
}

// rssKB reads VmRSS of a process, in KiB.
func rssKB(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("read status of %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb
		}
	}
	b.Fatalf("no VmRSS for %d", pid)
	return 0
}
