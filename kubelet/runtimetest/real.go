package runtimetest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/navarch/navarch/internal/testimage"
	"github.com/navarch/navarch/kubelet"
)

// realCases need real processes or a real pod network.
func realCases() []testCase {
	procs := kubelet.Capabilities{Processes: true}
	return []testCase{
		{name: "a command missing from the image fails to start with the runtime's message", needs: procs, run: testMissingCommand},
		{name: "env, working dir, mounts and user reach the process", needs: procs, run: testProcessConfig},
		{name: "containers of a sandbox share localhost and the node reaches the pod IP",
			needs: kubelet.Capabilities{Processes: true, Network: true}, run: testPodNetwork},
		{name: "a streamed exec gets its input, a terminal, and gives its exit code", needs: procs, run: testStreamExec},
	}
}

func testStreamExec(t *testing.T, h *harness) {
	se, ok := h.rt.(kubelet.StreamExecer)
	if !ok {
		t.Skip("the runtime does not stream exec")
	}
	h.importImage(t)
	sb := h.sandbox(t, "stream", nil)
	id, _ := h.start(t, sb.ID, "main", "sleep")
	h.waitState(t, id, kubelet.ContainerRunning, 10*time.Second)

	var out, errOut strings.Builder
	code, err := se.Exec(h.ctx, id, []string{"/testapp", "cat", "/dev/stdin"},
		kubelet.ExecStreams{Stdin: strings.NewReader("through stdin\n"), Stdout: &syncWriter{w: &out}, Stderr: &syncWriter{w: &errOut}})
	if err != nil || code != 0 || out.String() != "through stdin\n" {
		t.Errorf("cat /dev/stdin: got code %d, %v, stdout %q, stderr %q; want the input back", code, err, out.String(), errOut.String())
	}

	out.Reset()
	code, err = se.Exec(h.ctx, id, []string{"/testapp", "exit", "7"}, kubelet.ExecStreams{Stdout: &syncWriter{w: &out}})
	if err != nil || code != 7 {
		t.Errorf("exit 7: got code %d, %v", code, err)
	}

	// With a terminal (sized once): its line discipline ends lines with
	// CR LF.
	out.Reset()
	sizes := make(chan kubelet.TerminalSize, 1)
	sizes <- kubelet.TerminalSize{Width: 123, Height: 45}
	code, err = se.Exec(h.ctx, id, []string{"/testapp", "echo", "in", "a", "tty"},
		kubelet.ExecStreams{Stdout: &syncWriter{w: &out}, TTY: true, Resize: sizes})
	if err != nil || code != 0 || out.String() != "in a tty\r\n" {
		t.Errorf("echo with a tty: got code %d, %v, output %q; want %q", code, err, out.String(), "in a tty\r\n")
	}

	if _, err := se.Exec(h.ctx, "no-such-container", []string{"/testapp", "echo"}, kubelet.ExecStreams{}); !errors.Is(err, kubelet.ErrNotFound) {
		t.Errorf("exec in an unknown container: got %v, want ErrNotFound", err)
	}
}

// syncWriter serializes writes from a runtime's copy goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func testMissingCommand(t *testing.T, h *harness) {
	h.importImage(t)
	sb := h.sandbox(t, "missing", nil)
	id, err := h.rt.CreateContainer(h.ctx, sb.ID, kubelet.ContainerConfig{
		Name: "nope", Image: testimage.Ref, Command: []string{"/no-such-binary"},
	})
	if err == nil {
		err = h.rt.StartContainer(h.ctx, id)
		wantErr(t, "start a missing command", err, kubelet.ErrStartFailed)
	}
	if !strings.Contains(err.Error(), "/no-such-binary") {
		t.Fatalf("got error %q, want it to name the missing command", err)
	}
	if id == "" {
		return
	}
	st, serr := h.rt.ContainerStatus(h.ctx, id)
	if serr != nil {
		t.Fatal(serr)
	}
	if st.State != kubelet.ContainerExited || st.Reason != kubelet.ReasonStartError || st.ExitCode != 128 ||
		!strings.Contains(st.Message, "/no-such-binary") {
		t.Errorf("got %+v, want exited with StartError, 128 and the message", st)
	}
}

func testProcessConfig(t *testing.T, h *harness) {
	h.importImage(t)
	sb := h.sandbox(t, "config", nil)
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "data.txt"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	uid := int64(65534)
	id, err := h.rt.CreateContainer(h.ctx, sb.ID, kubelet.ContainerConfig{
		Name: "cfg", Image: testimage.Ref, Args: []string{"sleep"},
		Env:        []kubelet.EnvVar{{Name: "GREETING", Value: "hello"}},
		WorkingDir: "/etc",
		Mounts: []kubelet.Mount{
			{HostPath: hostDir, ContainerPath: "/data", ReadOnly: true},
		},
		Resources: kubelet.Resources{MemoryLimitBytes: 64 << 20, CPUQuota: 50000, CPUPeriod: 100000, CPUShares: 256},
		RunAsUser: &uid,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.rt.StartContainer(h.ctx, id); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, id, kubelet.ContainerRunning, 10*time.Second)
	tests := []struct {
		name     string
		cmd      []string
		wantCode int32
		wantOut  string
	}{
		{"env is set", []string{"/testapp", "cat", "/proc/self/environ"}, 0, "GREETING=hello"},
		{"working dir is /etc", []string{"/testapp", "cat", "hostname"}, 0, "config"},
		{"user is 65534", []string{"/testapp", "id"}, 0, "uid=65534"},
		{"the mount shows the host file", []string{"/testapp", "cat", "/data/data.txt"}, 0, "from the host"},
		{"the read-only mount refuses writes", []string{"/testapp", "write", "/data/new.txt", "x"}, 2, "read-only file system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.rt.ExecSync(h.ctx, id, tt.cmd, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.wantCode || !strings.Contains(string(res.Output), tt.wantOut) {
				t.Errorf("got code %d output %q, want %d and %q", res.ExitCode, res.Output, tt.wantCode, tt.wantOut)
			}
		})
	}
}

func testPodNetwork(t *testing.T, h *harness) {
	h.importImage(t)
	sb := h.sandbox(t, "net", nil)
	server, _ := h.start(t, sb.ID, "server", "serve", "--port", "8080")
	client, _ := h.start(t, sb.ID, "client", "sleep")
	h.waitState(t, server, kubelet.ContainerRunning, 10*time.Second)
	h.waitState(t, client, kubelet.ContainerRunning, 10*time.Second)

	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := h.rt.ExecSync(h.ctx, client, []string{"/testapp", "connect", "127.0.0.1:8080"}, 10*time.Second)
		if err == nil && res.ExitCode == 0 && strings.TrimSpace(string(res.Output)) == "net" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client to localhost:8080: got %+v (output %q), %v; want the pod's hostname", res, res.Output, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	httpc := http.Client{Timeout: 5 * time.Second}
	resp, err := httpc.Get(fmt.Sprintf("http://%s:8080/hostname", sb.IP))
	if err != nil {
		t.Fatalf("node to pod IP %s: %v", sb.IP, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != "net" {
		t.Errorf("node to pod IP: got %q, want the pod's hostname %q", body, "net")
	}
}
