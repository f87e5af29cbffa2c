package runtimetest

import (
	"strings"
	"testing"
	"time"

	"github.com/navarch/navarch/kubelet"
)

func containerCases() []testCase {
	return []testCase{
		{name: "a container goes through created, running, stopped and removed", run: testContainerLifecycle},
		{name: "exit codes and reasons are reported", run: testExitCodes},
		{name: "stop waits the grace period for a process ignoring SIGTERM, then kills it", run: testStopIgnoringSIGTERM},
		{name: "stop returns before the grace period when the process honours SIGTERM", run: func(t *testing.T, h *harness) {
			h.importImage(t)
			sb := h.sandbox(t, "prompt", nil)
			id, _ := h.start(t, sb.ID, "sleeper", "sleep")
			h.waitState(t, id, kubelet.ContainerRunning, 10*time.Second)
			began := time.Now()
			if err := h.rt.StopContainer(h.ctx, id, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(began); took > 10*time.Second {
				t.Errorf("stop took %s, want well under the 30s grace period", took)
			}
			st := h.waitState(t, id, kubelet.ContainerExited, 5*time.Second)
			if st.ExitCode != 143 {
				t.Errorf("got exit code %d, want 143 (SIGTERM)", st.ExitCode)
			}
		}},
		{name: "container output goes to its log file", run: func(t *testing.T, h *harness) {
			h.importImage(t)
			sb := h.sandbox(t, "logs", nil)
			id, cfg := h.start(t, sb.ID, "echo", "echo", "hello", "log")
			h.waitState(t, id, kubelet.ContainerExited, 10*time.Second)
			waitLog(t, cfg.LogPath, "hello log", 5*time.Second)
		}},
	}
}

func testContainerLifecycle(t *testing.T, h *harness) {
	h.importImage(t)
	sb := h.sandbox(t, "life", nil)
	id, cfg := h.create(t, sb.ID, "server", "serve", "--port", "8080")
	st, err := h.rt.ContainerStatus(h.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != kubelet.ContainerCreated || st.Name != "server" || st.SandboxID != sb.ID || !st.StartedAt.IsZero() {
		t.Fatalf("got %+v after create, want created, named server, in its sandbox, not started", st)
	}
	if err := h.rt.StartContainer(h.ctx, id); err != nil {
		t.Fatal(err)
	}
	st = h.waitState(t, id, kubelet.ContainerRunning, 10*time.Second)
	h.waitReady(t, cfg)
	if st.Pid == 0 || st.StartedAt.IsZero() {
		t.Errorf("got pid %d started %v, want both set while running", st.Pid, st.StartedAt)
	}
	if err := h.rt.StartContainer(h.ctx, id); err == nil {
		t.Errorf("second start: got nil error, want one")
	}
	if err := h.rt.StopContainer(h.ctx, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	st = h.waitState(t, id, kubelet.ContainerExited, 5*time.Second)
	if st.ExitCode != 143 || st.Reason != kubelet.ReasonError || st.FinishedAt.Before(st.StartedAt) || st.Pid != 0 {
		t.Errorf("got %+v after stop, want exit 143, reason Error, finished after started, no pid", st)
	}
	if err := h.rt.StopContainer(h.ctx, id, time.Second); err != nil {
		t.Errorf("stop an exited container: got %v, want nil", err)
	}
	if err := h.rt.RemoveContainer(h.ctx, id); err != nil {
		t.Fatal(err)
	}
	_, err = h.rt.ContainerStatus(h.ctx, id)
	wantErr(t, "status of a removed container", err, kubelet.ErrNotFound)
	if err := h.rt.RemoveContainer(h.ctx, id); err != nil {
		t.Errorf("second remove: got %v, want nil", err)
	}
	wantErr(t, "stop an unknown container", h.rt.StopContainer(h.ctx, id, 0), kubelet.ErrNotFound)
	wantErr(t, "start an unknown container", h.rt.StartContainer(h.ctx, id), kubelet.ErrNotFound)
}

func testExitCodes(t *testing.T, h *harness) {
	h.importImage(t)
	sb := h.sandbox(t, "exits", nil)
	tests := []struct {
		name       string
		args       []string
		wantCode   int32
		wantReason string
		runsFirst  bool
	}{
		{"exit 0 is Completed", []string{"exit", "0"}, 0, kubelet.ReasonCompleted, false},
		{"exit 3 is Error with code 3", []string{"exit", "3"}, 3, kubelet.ReasonError, false},
		{"a crash after running is Error with its code", []string{"crash-after", "300ms", "7"}, 7, kubelet.ReasonError, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, _ := h.start(t, sb.ID, strings.ReplaceAll(tt.args[0], "-", "")+tt.args[len(tt.args)-1], tt.args...)
			if tt.runsFirst {
				h.waitState(t, id, kubelet.ContainerRunning, 10*time.Second)
			}
			st := h.waitState(t, id, kubelet.ContainerExited, 10*time.Second)
			if st.ExitCode != tt.wantCode || st.Reason != tt.wantReason || st.FinishedAt.IsZero() {
				t.Errorf("got code %d reason %q finished %v, want %d %q and a finish time", st.ExitCode, st.Reason, st.FinishedAt, tt.wantCode, tt.wantReason)
			}
			list, err := h.rt.ListContainers(h.ctx, kubelet.ContainerFilter{ID: id, State: kubelet.ContainerExited})
			if err != nil || len(list) != 1 {
				t.Errorf("list exited: got %d, %v; want the container", len(list), err)
			}
		})
	}
}

func testStopIgnoringSIGTERM(t *testing.T, h *harness) {
	h.importImage(t)
	sb := h.sandbox(t, "stubborn", nil)
	id, cfg := h.start(t, sb.ID, "stubborn", "ignore-sigterm")
	h.waitState(t, id, kubelet.ContainerRunning, 10*time.Second)
	waitLog(t, cfg.LogPath, "ignoring SIGTERM", 10*time.Second) // the handler is in place
	const grace = 1500 * time.Millisecond
	began := time.Now()
	if err := h.rt.StopContainer(h.ctx, id, grace); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	if took < grace || took > grace+10*time.Second {
		t.Errorf("stop took %s, want the %s grace period and not much more", took, grace)
	}
	st := h.waitState(t, id, kubelet.ContainerExited, 5*time.Second)
	if st.ExitCode != 137 {
		t.Errorf("got exit code %d, want 137 (SIGKILL)", st.ExitCode)
	}
}

func execCases() []testCase {
	return []testCase{{name: "exec runs a command and reports its exit code and output", run: testExec}}
}

func testExec(t *testing.T, h *harness) {
	h.importImage(t)
	sb := h.sandbox(t, "exec", nil)
	id, _ := h.start(t, sb.ID, "target", "sleep")
	h.waitState(t, id, kubelet.ContainerRunning, 10*time.Second)
	tests := []struct {
		name     string
		cmd      []string
		wantCode int32
		wantOut  string
	}{
		{"echo succeeds with its output", []string{"/testapp", "echo", "hi", "there"}, 0, "hi there\n"},
		{"exit 4 reports code 4", []string{"/testapp", "exit", "4"}, 4, "exiting with 4\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.rt.ExecSync(h.ctx, id, tt.cmd, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tt.wantCode || string(res.Output) != tt.wantOut {
				t.Errorf("got code %d output %q, want %d %q", res.ExitCode, res.Output, tt.wantCode, tt.wantOut)
			}
		})
	}
	t.Run("a command outliving its timeout is killed", func(t *testing.T) {
		began := time.Now()
		_, err := h.rt.ExecSync(h.ctx, id, []string{"/testapp", "sleep", "30s"}, 300*time.Millisecond)
		wantErr(t, "exec past its timeout", err, kubelet.ErrExecTimeout)
		if took := time.Since(began); took > 10*time.Second {
			t.Errorf("exec took %s, want about the 300ms timeout", took)
		}
	})
	t.Run("exec in an exited or unknown container fails", func(t *testing.T) {
		done, _ := h.start(t, sb.ID, "done", "exit", "0")
		h.waitState(t, done, kubelet.ContainerExited, 10*time.Second)
		_, err := h.rt.ExecSync(h.ctx, done, []string{"/testapp", "echo"}, time.Second)
		wantErr(t, "exec in an exited container", err, kubelet.ErrNotRunning)
		_, err = h.rt.ExecSync(h.ctx, "no-such-container", []string{"/testapp", "echo"}, time.Second)
		wantErr(t, "exec in an unknown container", err, kubelet.ErrNotFound)
	})
}
