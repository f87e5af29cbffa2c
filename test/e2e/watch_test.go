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

// podWatch follows `navarch get pods -w` as a user watching a rollout
// would, and records after each event how many pods of each image were
// Ready (and not being deleted).
type podWatch struct {
	cmd  *exec.Cmd
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

// watchPods starts `navarch get pods -n ns -l selector -w` with JSON
// events; it ends with the test, or with stop.
func (c cli) watchPods(t *testing.T, ns, selector string) *podWatch {
	t.Helper()
	pw := &podWatch{pods: map[string]*corev1.Pod{}, done: make(chan struct{})}
	pw.cmd = exec.Command(c.w.bin, "get", "pods", "-n", ns, "-l", selector, "-w", "--output-watch-events", "-o", "json")
	pw.cmd.Env = c.env()
	pw.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := pw.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	pw.cmd.Stderr = &stderr
	if err := pw.cmd.Start(); err != nil {
		t.Fatalf("navarch get pods -w: %v", err)
	}
	go func() {
		defer close(pw.done)
		dec := json.NewDecoder(bufio.NewReader(stdout))
		for {
			var ev struct {
				Type   string     `json:"type"`
				Object corev1.Pod `json:"object"`
			}
			if err := dec.Decode(&ev); err != nil {
				_ = pw.cmd.Wait()
				pw.mu.Lock()
				pw.err = fmt.Errorf("watch ended: %v; stderr: %s", err, stderr.String())
				pw.mu.Unlock()
				return
			}
			pw.record(ev.Type, &ev.Object)
		}
	}()
	t.Cleanup(pw.stop)
	return pw
}

func (pw *podWatch) record(typ string, p *corev1.Pod) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.events++
	if typ == "DELETED" {
		delete(pw.pods, p.Name)
	} else {
		pw.pods[p.Name] = p
	}
	step := watchStep{at: time.Now(), ready: map[string]int{}, pods: map[string]int{}}
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

// stop ends the watch (by its PID) and waits for its reader.
func (pw *podWatch) stop() {
	_ = syscall.Kill(-pw.cmd.Process.Pid, syscall.SIGKILL)
	<-pw.done
}

// rollout summarizes what the watch saw of a rolling update from image
// from to image to.
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
