package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// watchEvent is one event of `navarch get … -w`, stamped when it arrived.
type watchEvent struct {
	at     time.Time
	typ    string // ADDED, MODIFIED, DELETED
	object json.RawMessage
}

// watcher follows `navarch get ARGS -w --output-watch-events -o json`, as
// a user watching a rollout would.
type watcher struct {
	cmd    *exec.Cmd
	events chan watchEvent // closed when the watch ends
	stderr strings.Builder
}

// watch starts the watch; it ends with the test, or with stop.
func (c cli) watch(t testing.TB, args ...string) *watcher {
	t.Helper()
	wt := &watcher{events: make(chan watchEvent, 1024)}
	argv := append(append([]string{"get"}, args...), "-w", "--output-watch-events", "-o", "json")
	wt.cmd = exec.Command(c.w.bin, argv...)
	wt.cmd.Env = c.env()
	wt.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	wt.cmd.Stderr = &wt.stderr
	stdout, err := wt.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.cmd.Start(); err != nil {
		t.Fatalf("navarch %s: %v", strings.Join(argv, " "), err)
	}
	go func() {
		defer close(wt.events)
		dec := json.NewDecoder(bufio.NewReader(stdout))
		for {
			var ev struct {
				Type   string          `json:"type"`
				Object json.RawMessage `json:"object"`
			}
			if err := dec.Decode(&ev); err != nil {
				_ = wt.cmd.Wait()
				return
			}
			wt.events <- watchEvent{at: time.Now(), typ: ev.Type, object: ev.Object}
		}
	}()
	t.Cleanup(wt.stop)
	return wt
}

// stop ends the watch by its process group's id. It is idempotent.
func (wt *watcher) stop() {
	_ = syscall.Kill(-wt.cmd.Process.Pid, syscall.SIGKILL)
	for range wt.events {
	}
}

// podWatch records, after each event of a pod watch, how many pods of
// each image were Ready (and not being deleted).
type podWatch struct {
	done chan struct{}

	mu     sync.Mutex
	pods   map[string]*corev1.Pod
	events int
	steps  []watchStep
	err    error
}

// watchStep is the state after one event.
type watchStep struct {
	at    time.Time
	ready map[string]int // image → Ready pods
	pods  map[string]int // image → pods not being deleted
}

// watchPods watches the pods of ns matching selector.
func (c cli) watchPods(t testing.TB, ns, selector string) *podWatch {
	t.Helper()
	wt := c.watch(t, "pods", "-n", ns, "-l", selector)
	pw := &podWatch{pods: map[string]*corev1.Pod{}, done: make(chan struct{})}
	go func() {
		defer close(pw.done)
		for ev := range wt.events {
			var p corev1.Pod
			if err := json.Unmarshal(ev.object, &p); err != nil {
				pw.mu.Lock()
				pw.err = err
				pw.mu.Unlock()
				continue
			}
			pw.record(ev, &p)
		}
		pw.mu.Lock()
		if pw.err == nil {
			pw.err = fmt.Errorf("watch ended: %s", wt.stderr.String())
		}
		pw.mu.Unlock()
	}()
	return pw
}

func (pw *podWatch) record(ev watchEvent, p *corev1.Pod) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.events++
	if ev.typ == "DELETED" {
		delete(pw.pods, p.Name)
	} else {
		pw.pods[p.Name] = p
	}
	step := watchStep{at: ev.at, ready: map[string]int{}, pods: map[string]int{}}
	for _, p := range pw.pods {
		if p.DeletionTimestamp == nil {
			step.pods[imageOf(p)]++
		}
		if podReady(p) {
			step.ready[imageOf(p)]++
		}
	}
	pw.steps = append(pw.steps, step)
}

// rollout summarizes what the watch saw of a rolling update from one
// image to another.
type rollout struct {
	events int
	// overlap: some moment had Ready pods of both images (a rolling
	// update, not a recreate).
	overlap bool
	// minReady is the fewest Ready pods of either image at any moment
	// after the first new pod appeared.
	minReady int
	// finished: the last moment had only Ready pods of the new image.
	finished bool
	err      error
}

func (r rollout) String() string {
	return fmt.Sprintf("%d events, overlap %t, min ready %d, finished %t, watch error %v",
		r.events, r.overlap, r.minReady, r.finished, r.err)
}

// rolloutFrom summarizes the update from image from to image to.
func (pw *podWatch) rolloutFrom(from, to string) rollout {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	r := rollout{events: pw.events, minReady: -1, err: pw.err}
	started := false
	for _, s := range pw.steps {
		if s.pods[to] > 0 || s.ready[to] > 0 {
			started = true
		}
		if !started {
			continue
		}
		ready := s.ready[from] + s.ready[to]
		if r.minReady < 0 || ready < r.minReady {
			r.minReady = ready
		}
		if s.ready[from] > 0 && s.ready[to] > 0 {
			r.overlap = true
		}
	}
	if n := len(pw.steps); n > 0 {
		last := pw.steps[n-1]
		r.finished = last.ready[to] > 0 && last.ready[from] == 0 && last.pods[from] == 0
	}
	return r
}
