package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/internal/leader"
	"github.com/navarch/navarch/kubelet/hollow"
)

// etcdCluster starts a 3-member etcd cluster of the etcd binary on
// loopback ports and returns its client URLs; the members are killed when
// the test ends. Without the binary the test is skipped (failed under CI).
func etcdCluster(t *testing.T) []string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("etcd binary not found: %v", err)
		}
		t.Skipf("etcd binary not found (Debian package etcd-server): %v", err)
	}
	dir := t.TempDir()
	var clients, peers, initial []string
	for i := 0; i < 3; i++ {
		clients = append(clients, fmt.Sprintf("http://127.0.0.1:%d", freeTCPPort(t)))
		peers = append(peers, fmt.Sprintf("http://127.0.0.1:%d", freeTCPPort(t)))
		initial = append(initial, fmt.Sprintf("m%d=%s", i, peers[i]))
	}
	for i := 0; i < 3; i++ {
		logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("m%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin,
			"--name", fmt.Sprintf("m%d", i),
			"--data-dir", filepath.Join(dir, fmt.Sprintf("m%d", i)),
			"--listen-client-urls", clients[i], "--advertise-client-urls", clients[i],
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--initial-cluster", strings.Join(initial, ","),
			"--initial-cluster-state", "new", "--initial-cluster-token", "navarch-ha-test",
			"--logger", "zap", "--log-level", "error",
		)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatalf("start etcd member %d: %v", i, err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			logFile.Close()
			if t.Failed() {
				b, _ := os.ReadFile(logFile.Name())
				t.Logf("etcd member log %s:\n%s", logFile.Name(), b)
			}
		})
	}
	return clients
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var haLeases = []string{leader.SchedulerLease, leader.ControllerManagerLease, leader.ReconcilerLease}

// holders returns each navarch Lease's holder identity.
func holders(ctx context.Context, cs kubernetes.Interface) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range haLeases {
		l, err := cs.CoordinationV1().Leases(leader.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if l.Spec.HolderIdentity != nil {
			out[name] = *l.Spec.HolderIdentity
		}
	}
	return out, nil
}

// pidOf reads the process ID out of a leader identity (host_pid_suffix).
func pidOf(identity string) int {
	parts := strings.Split(identity, "_")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

// TestThreeServersOnOneEtcdClusterRunOneOfEachLoopAndSurviveALeadersDeath:
// three `navarch server` processes share a 3-member etcd cluster; each
// Lease has exactly one holder and exactly one process leads each loop;
// the controller manager's leader is killed with SIGKILL and another
// server takes every Lease it held within 15 s; a Deployment created after
// the kill gets its ReplicaSet and running pods.
func TestThreeServersOnOneEtcdClusterRunOneOfEachLoopAndSurviveALeadersDeath(t *testing.T) {
	endpoints := etcdCluster(t)
	flags := []string{
		"--etcd-endpoints=" + strings.Join(endpoints, ","),
		"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms",
	}
	servers := make([]*serverProcess, 3)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() { servers[i] = startRole(t, "server", t.TempDir(), flags...) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	byPID := map[int]*serverProcess{}
	for _, s := range servers {
		byPID[s.cmd.Process.Pid] = s
	}
	ctx := context.Background()
	var held map[string]string
	waitUntil(t, 30*time.Second, "every Lease held by one of the servers", func() bool {
		h, err := holders(ctx, servers[0].clientset(t))
		if err != nil || len(h) != len(haLeases) {
			return false
		}
		for _, id := range h {
			if byPID[pidOf(id)] == nil {
				return false
			}
		}
		held = h
		return true
	})
	t.Logf("leases: %v", held)
	for _, lease := range haLeases {
		waitUntil(t, 10*time.Second, "one process leading "+lease, func() bool {
			leading := 0
			for _, s := range servers {
				if strings.Contains(s.log(), "msg=leading") && leadsIn(s.log(), lease) {
					leading++
				}
			}
			return leading == 1
		})
	}

	victim := byPID[pidOf(held[leader.ControllerManagerLease])]
	var survivor *serverProcess
	for _, s := range servers {
		if s != victim {
			survivor = s
			break
		}
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.exited
	killed := time.Now()
	cs := survivor.clientset(t)
	waitUntil(t, 15*time.Second, "every Lease held by a live server", func() bool {
		h, err := holders(ctx, cs)
		if err != nil {
			return false
		}
		for _, id := range h {
			if p := byPID[pidOf(id)]; p == nil || p == victim {
				return false
			}
		}
		held = h
		return true
	})
	t.Logf("leases %v taken over %s after SIGKILL", held, time.Since(killed).Round(10*time.Millisecond))

	nodes, err := hollow.Start(ctx, hollow.Options{Count: 2, NamePrefix: "ha-", Client: cs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nodes.Stop() })
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, haDeployment(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "the new Deployment's ReplicaSet and 3 running pods", func() bool {
		rss, err := cs.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{LabelSelector: "app=after-kill"})
		if err != nil || len(rss.Items) != 1 {
			return false
		}
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=after-kill"})
		if err != nil || len(pods.Items) != 3 {
			return false
		}
		for _, p := range pods.Items {
			if p.Status.Phase != "Running" || p.Spec.NodeName == "" {
				return false
			}
		}
		return true
	})
}

// leadsIn reports whether a server's log shows it leading lease.
func leadsIn(log, lease string) bool {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "msg=leading") && strings.Contains(line, "lease="+lease+" ") {
			return true
		}
	}
	return false
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func haDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": "after-kill"}
	replicas := int32(3)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "after-kill", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}},
			},
		},
	}
}
