package proctest

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStopEndsAProcessThatHandlesSIGTERM(t *testing.T) {
	p := Start(t, "sleeper", Options{}, "sh", "-c", `trap 'echo bye; exit 0' TERM; echo hi; while :; do sleep 0.05; done`)
	waitLogged(t, p, "hi")
	if err := p.Stop(10 * time.Second); err != nil {
		t.Fatalf("got %v, want a clean stop", err)
	}
	if got := p.ExitCode(); got != 0 {
		t.Errorf("got exit code %d, want 0", got)
	}
	if !strings.Contains(p.Log(), "bye") {
		t.Errorf("got log %q, want it to hold the trap's bye", p.Log())
	}
	if err := p.Stop(time.Second); err != nil {
		t.Errorf("a second Stop: got %v, want nil", err)
	}
}

func TestStopKillsAProcessThatIgnoresSIGTERMAfterTheGrace(t *testing.T) {
	p := Start(t, "stubborn", Options{}, "sh", "-c", `trap '' TERM; echo hi; while :; do sleep 0.05; done`)
	waitLogged(t, p, "hi")
	start := time.Now()
	if err := p.Stop(200 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "stubborn did not stop") {
		t.Fatalf("got %v, want an error naming stubborn", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %s, want about the grace", d)
	}
	if done, _ := p.Exited(); !done {
		t.Error("the process still runs after Stop")
	}
}

func TestKillOfAGroupEndsTheChildrenToo(t *testing.T) {
	p := Start(t, "parent", Options{Group: true}, "sh", "-c", `sleep 60 & echo child $!; wait`)
	waitLogged(t, p, "child ")
	var child int
	for _, f := range strings.Fields(p.Log()) {
		if n, err := strconv.Atoi(f); err == nil {
			child = n
		}
	}
	if child == 0 {
		t.Fatalf("no child PID in %q", p.Log())
	}
	p.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(child, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the child %d still runs after Kill of its group", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTailKeepsTheLastLines(t *testing.T) {
	p := Start(t, "counter", Options{}, "sh", "-c", `for i in 1 2 3 4 5; do echo line $i; done`)
	<-p.Done()
	if got, want := p.Tail(2), "… (3 lines before)\nline 4\nline 5"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func waitLogged(t *testing.T, p *Process, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Log(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never printed %q; log %q", p.Name, s, p.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
