package containerd_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/navarch/navarch/internal/testimage"
	"github.com/navarch/navarch/kubelet"
	ctrd "github.com/navarch/navarch/kubelet/containerd"
)

// importImage loads the test image into the env's containerd.
func (e *env) importImage(t testing.TB) {
	t.Helper()
	archive := testimage.Archive(t, testimage.Ref, testimage.Image(t, "v1"))
	if _, err := e.rt.ImportImage(context.Background(), bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
}

func (e *env) sandbox(t testing.TB, rt kubelet.Runtime, name string) kubelet.Sandbox {
	t.Helper()
	sb, err := rt.RunPodSandbox(context.Background(), kubelet.SandboxConfig{
		UID: "uid-" + name, Name: name, Namespace: "test", Labels: map[string]string{"pod": name},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb
}

func (e *env) run(t testing.TB, rt kubelet.Runtime, sandboxID string, cfg kubelet.ContainerConfig) string {
	t.Helper()
	ctx := context.Background()
	if cfg.Image == "" {
		cfg.Image = testimage.Ref
	}
	id, err := rt.CreateContainer(ctx, sandboxID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func waitState(t testing.TB, rt kubelet.Runtime, id string, want kubelet.ContainerState, within time.Duration) kubelet.ContainerStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := rt.ContainerStatus(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: got %s after %s, want %s (%+v)", id, st.State, within, want, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSandboxIPComesFromTheCIDRAndRemovalFreesIPAndNetns(t *testing.T) {
	e := newEnv(t)
	e.importImage(t)
	sb := e.sandbox(t, e.rt, "two")
	_, cidr, _ := net.ParseCIDR(e.net.Options().PodCIDR)
	if ip := net.ParseIP(sb.IP); ip == nil || !cidr.Contains(ip) {
		t.Fatalf("got pod IP %q, want one in %s", sb.IP, cidr)
	}
	a := e.run(t, e.rt, sb.ID, kubelet.ContainerConfig{Name: "a", Args: []string{"serve", "--port", "8080"}})
	b := e.run(t, e.rt, sb.ID, kubelet.ContainerConfig{Name: "b", Args: []string{"sleep"}})
	waitState(t, e.rt, a, kubelet.ContainerRunning, 10*time.Second)
	waitState(t, e.rt, b, kubelet.ContainerRunning, 10*time.Second)
	alloc := filepath.Join(e.net.IPAMDir(), sb.IP)
	if _, err := os.Stat(alloc); err != nil {
		t.Fatalf("got no allocation file for %s: %v", sb.IP, err)
	}
	if err := e.rt.RemovePodSandbox(context.Background(), sb.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{alloc, sb.NetNS} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("got %s after removal (err %v), want it gone", p, err)
		}
	}
	if cs, _ := e.rt.ListContainers(context.Background(), kubelet.ContainerFilter{SandboxID: sb.ID}); len(cs) != 0 {
		t.Errorf("got %d containers after removal, want none", len(cs))
	}
}

func TestRestartedRuntimeAdoptsContainersAndRecordsExitsMissedMeanwhile(t *testing.T) {
	e := newEnv(t)
	e.importImage(t)
	ctx := context.Background()
	sb := e.sandbox(t, e.rt, "adopt")
	long := e.run(t, e.rt, sb.ID, kubelet.ContainerConfig{Name: "long", Args: []string{"sleep"},
		Labels: map[string]string{"navarch.dev/container": "long"}, Annotations: map[string]string{"hash": "h1"}, Attempt: 2})
	short := e.run(t, e.rt, sb.ID, kubelet.ContainerConfig{Name: "short", Args: []string{"crash-after", "1s", "9"}})
	before := waitState(t, e.rt, long, kubelet.ContainerRunning, 10*time.Second)
	waitState(t, e.rt, short, kubelet.ContainerRunning, 10*time.Second)

	if err := e.rt.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // short exits while no runtime watches
	rt := e.open(t)

	sbs, err := rt.ListPodSandboxes(ctx, kubelet.SandboxFilter{Labels: map[string]string{"pod": "adopt"}})
	if err != nil || len(sbs) != 1 || sbs[0].ID != sb.ID || sbs[0].IP != sb.IP || sbs[0].State != kubelet.SandboxReady {
		t.Fatalf("got sandboxes %+v, %v; want the ready sandbox %s with IP %s", sbs, err, sb.ID, sb.IP)
	}
	cs, err := rt.ListContainers(ctx, kubelet.ContainerFilter{Labels: map[string]string{"navarch.dev/container": "long"}})
	if err != nil || len(cs) != 1 || cs[0].ID != long || cs[0].Attempt != 2 || cs[0].Annotations["hash"] != "h1" {
		t.Fatalf("got containers %+v, %v; want %s with attempt 2 and its annotation", cs, err, long)
	}
	after := waitState(t, rt, long, kubelet.ContainerRunning, time.Second)
	if after.Pid != before.Pid || !after.StartedAt.Equal(before.StartedAt) {
		t.Errorf("got pid %d started %v, want the same process (pid %d started %v)", after.Pid, after.StartedAt, before.Pid, before.StartedAt)
	}
	st := waitState(t, rt, short, kubelet.ContainerExited, 5*time.Second)
	if st.ExitCode != 9 || st.Reason != kubelet.ReasonError {
		t.Errorf("got exit %d reason %q for the container that exited meanwhile, want 9 Error", st.ExitCode, st.Reason)
	}
}

func TestContainerOverItsMemoryLimitIsOOMKilled(t *testing.T) {
	e := newEnv(t)
	e.importImage(t)
	sb := e.sandbox(t, e.rt, "oom")
	id := e.run(t, e.rt, sb.ID, kubelet.ContainerConfig{Name: "hog", Args: []string{"alloc", "256"},
		Resources: kubelet.Resources{MemoryLimitBytes: 32 << 20}})
	st := waitState(t, e.rt, id, kubelet.ContainerExited, 30*time.Second)
	if st.Reason != kubelet.ReasonOOMKilled || st.ExitCode != 137 {
		t.Errorf("got reason %q exit %d, want OOMKilled 137", st.Reason, st.ExitCode)
	}
}

func TestLogFileKeepsGrowingAfterCopyTruncate(t *testing.T) {
	e := newEnv(t)
	e.importImage(t)
	sb := e.sandbox(t, e.rt, "logs")
	logPath := filepath.Join(t.TempDir(), "ticker.log")
	id := e.run(t, e.rt, sb.ID, kubelet.ContainerConfig{Name: "ticker", Args: []string{"tick", "20ms"}, LogPath: logPath})
	waitState(t, e.rt, id, kubelet.ContainerRunning, 10*time.Second)
	waitFor(t, 5*time.Second, func() bool { b, _ := os.ReadFile(logPath); return bytes.Contains(b, []byte("tick 5\n")) })
	if err := os.Truncate(logPath, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool { b, _ := os.ReadFile(logPath); return bytes.Count(b, []byte("\n")) >= 3 })
	b, _ := os.ReadFile(logPath)
	if bytes.IndexByte(b, 0) >= 0 || !strings.HasPrefix(string(b), "tick ") {
		t.Errorf("got %q after truncation, want new lines from offset 0 (appending writer)", b[:min(len(b), 64)])
	}
}

func waitFor(t testing.TB, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func BenchmarkPodStart(b *testing.B) {
	e := newEnv(b)
	e.importImage(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sb := e.sandbox(b, e.rt, "bench")
		id := e.run(b, e.rt, sb.ID, kubelet.ContainerConfig{Name: "app", Args: []string{"serve", "--port", "8080"}})
		waitState(b, e.rt, id, kubelet.ContainerRunning, 30*time.Second)
		b.StopTimer()
		if err := e.rt.RemovePodSandbox(ctx, sb.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}

func TestExitedContainersReleaseTheirShimWithoutBeingAsked(t *testing.T) {
	e := newEnv(t)
	e.importImage(t)
	sb := e.sandbox(t, e.rt, "shim")
	id := e.run(t, e.rt, sb.ID, kubelet.ContainerConfig{Name: "brief", Args: []string{"crash-after", "200ms", "5"}})
	client, err := containerd.New(e.address, containerd.WithDefaultNamespace(ctrd.DefaultNamespace))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// Only the exit watcher can delete the task here: nothing asks for status.
	waitFor(t, 10*time.Second, func() bool {
		_, err := client.TaskService().Get(context.Background(), &tasksapi.GetRequest{ContainerID: id})
		return err != nil && status.Code(err) == codes.NotFound
	})
	st, err := e.rt.ContainerStatus(context.Background(), id)
	if err != nil || st.State != kubelet.ContainerExited || st.ExitCode != 5 {
		t.Errorf("got %+v, %v; want exited with code 5", st, err)
	}
}

func TestHostPortForwardsLoopbackToThePod(t *testing.T) {
	e := newEnv(t)
	e.importImage(t)
	hostPort := int32(20000 + time.Now().UnixNano()%10000)
	sb, err := e.rt.RunPodSandbox(context.Background(), kubelet.SandboxConfig{UID: "uid-hp", Name: "hp", Namespace: "test",
		Ports: []kubelet.PortMapping{{ContainerPort: 8080, HostPort: hostPort, HostIP: "127.0.0.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := e.run(t, e.rt, sb.ID, kubelet.ContainerConfig{Name: "web", Args: []string{"serve", "--port", "8080"}})
	waitState(t, e.rt, id, kubelet.ContainerRunning, 10*time.Second)
	url := "http://127.0.0.1:" + strconv.Itoa(int(hostPort)) + "/hostname"
	var body string
	waitFor(t, 10*time.Second, func() bool {
		resp, err := (&http.Client{Timeout: time.Second}).Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = strings.TrimSpace(string(b))
		return true
	})
	if body != "hp" {
		t.Errorf("got %q from host port %d, want the pod's hostname hp", body, hostPort)
	}
}
