package kubelet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

func TestBackoffCurveStartsAtOnceThenDoublesToMax(t *testing.T) {
	b := newBackoff(DefaultBackoff(), true)
	t0 := time.Unix(1000, 0)
	var got []time.Duration
	for i := range 8 {
		failed := t0.Add(time.Duration(i) * time.Hour)
		got = append(got, b.failure("c", failed, time.Second).Sub(failed))
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 300 * time.Second, 300 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestBackoffResetsAfterALongRun(t *testing.T) {
	b := newBackoff(DefaultBackoff(), true)
	t0 := time.Unix(1000, 0)
	b.failure("c", t0, time.Second)
	b.failure("c", t0.Add(time.Minute), time.Second)
	b.failure("c", t0.Add(2*time.Minute), time.Second)
	if d := b.delay("c"); d != 20*time.Second {
		t.Fatalf("got delay %v, want 20s", d)
	}
	if got := b.failure("c", t0.Add(time.Hour), 11*time.Minute).Sub(t0.Add(time.Hour)); got != 0 {
		t.Errorf("after 11 minutes of running: got %v, want 0 (reset)", got)
	}
	if got := b.failure("c", t0.Add(2*time.Hour), time.Second).Sub(t0.Add(2 * time.Hour)); got != 10*time.Second {
		t.Errorf("next failure after a reset: got %v, want 10s", got)
	}
}

func TestBackoffCountsEachFailureOnce(t *testing.T) {
	b := newBackoff(DefaultBackoff(), false)
	t0 := time.Unix(1000, 0)
	for range 3 {
		if got := b.failure("img", t0, 0).Sub(t0); got != 10*time.Second {
			t.Fatalf("same failure again: got %v, want 10s (image pulls wait from the first failure)", got)
		}
	}
}

func TestExpandFollowsKubernetesRules(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	tests := []struct{ in, want string }{
		{"$(A)", "1"},
		{"x$(A)y$(B)", "x1ytwo"},
		{"$(C)", "$(C)"},
		{"$$(A)", "$(A)"},
		{"$A", "$A"},
		{"$(A", "$(A"},
		{"plain", "plain"},
		{"end$", "end$"},
	}
	for _, tt := range tests {
		if got := expand(tt.in, vars); got != tt.want {
			t.Errorf("expand(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPodPhase(t *testing.T) {
	run := corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	ok := corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}
	bad := corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}
	wait := corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	crash := corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}
	tests := []struct {
		name   string
		policy corev1.RestartPolicy
		init   []corev1.ContainerStatus
		app    []corev1.ContainerStatus
		want   corev1.PodPhase
	}{
		{"creating", corev1.RestartPolicyAlways, nil, []corev1.ContainerStatus{wait}, corev1.PodPending},
		{"running", corev1.RestartPolicyAlways, nil, []corev1.ContainerStatus{run, ok}, corev1.PodRunning},
		{"crash looping is running", corev1.RestartPolicyAlways, nil, []corev1.ContainerStatus{crash}, corev1.PodRunning},
		{"all done with Always", corev1.RestartPolicyAlways, nil, []corev1.ContainerStatus{ok}, corev1.PodRunning},
		{"all succeeded", corev1.RestartPolicyNever, nil, []corev1.ContainerStatus{ok, ok}, corev1.PodSucceeded},
		{"one failed, Never", corev1.RestartPolicyNever, nil, []corev1.ContainerStatus{ok, bad}, corev1.PodFailed},
		{"one failed, OnFailure", corev1.RestartPolicyOnFailure, nil, []corev1.ContainerStatus{ok, bad}, corev1.PodRunning},
		{"succeeded, OnFailure", corev1.RestartPolicyOnFailure, nil, []corev1.ContainerStatus{ok}, corev1.PodSucceeded},
		{"init running", corev1.RestartPolicyAlways, []corev1.ContainerStatus{run}, []corev1.ContainerStatus{wait}, corev1.PodPending},
		{"init failed, Never", corev1.RestartPolicyNever, []corev1.ContainerStatus{bad}, []corev1.ContainerStatus{wait}, corev1.PodFailed},
		{"init crash looping", corev1.RestartPolicyAlways, []corev1.ContainerStatus{crash}, []corev1.ContainerStatus{wait}, corev1.PodPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: tt.policy}}
			if got := podPhase(pod, tt.init, tt.app); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestComputePodStatusReportsWaitingReasonsAndLastState(t *testing.T) {
	now := time.Unix(5000, 0)
	pod := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{
		{Name: "app", Image: "img"}, {Name: "pull", Image: "nope"},
	}}}
	state := &podState{
		sandboxes: []SandboxStatus{{Sandbox: Sandbox{ID: "sb", IP: "10.1.0.5"}, State: SandboxReady}},
		containers: map[string][]ContainerStatus{"app": {
			{Container: Container{ID: "c2", SandboxID: "sb", State: ContainerExited, Attempt: 2}, ExitCode: 1, Reason: ReasonError,
				StartedAt: now.Add(-time.Minute), FinishedAt: now.Add(-time.Second)},
			{Container: Container{ID: "c1", SandboxID: "sb", State: ContainerExited, Attempt: 1}, ExitCode: 1, Reason: ReasonError},
		}},
	}
	st := computePodStatus(statusInput{
		pod: pod, state: state, now: now, hostIP: "192.0.2.1", runtimeName: "containerd",
		reasons: map[string]waitReason{
			"app":  {"CrashLoopBackOff", "back-off 10s"},
			"pull": {"ImagePullBackOff", "Back-off pulling image \"nope\""},
		},
		ready: func(string) bool { return true }, started: func(string) bool { return true },
	})
	app, pull := st.ContainerStatuses[0], st.ContainerStatuses[1]
	if app.State.Waiting == nil || app.State.Waiting.Reason != "CrashLoopBackOff" || app.RestartCount != 2 ||
		app.LastTerminationState.Terminated == nil || app.LastTerminationState.Terminated.ContainerID != "containerd://c2" {
		t.Errorf("app: got %+v, want waiting CrashLoopBackOff, 2 restarts, lastState c2", app)
	}
	if pull.State.Waiting == nil || pull.State.Waiting.Reason != "ImagePullBackOff" || pull.ContainerID != "" {
		t.Errorf("pull: got %+v, want waiting ImagePullBackOff without a container", pull)
	}
	if st.Phase != corev1.PodPending || st.PodIP != "10.1.0.5" || st.HostIP != "192.0.2.1" {
		t.Errorf("got phase %s podIP %s hostIP %s, want Pending, 10.1.0.5, 192.0.2.1", st.Phase, st.PodIP, st.HostIP)
	}
	var ready *corev1.PodCondition
	for i := range st.Conditions {
		if st.Conditions[i].Type == corev1.PodReady {
			ready = &st.Conditions[i]
		}
	}
	if ready == nil || ready.Status != corev1.ConditionFalse || ready.Message != "containers with unready status: [app pull]" {
		t.Errorf("Ready: got %+v", ready)
	}
}

func TestComputePodStatusKeepsTheTimesOfTheStatusLastComputed(t *testing.T) {
	t0 := time.Unix(5000, 0)
	later := t0.Add(3 * time.Second)
	pod := &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{Name: "app", Image: "img"}}}}
	state := &podState{
		sandboxes: []SandboxStatus{{Sandbox: Sandbox{ID: "sb", IP: "10.1.0.5"}, State: SandboxReady}},
		containers: map[string][]ContainerStatus{"app": {
			{Container: Container{ID: "c1", SandboxID: "sb", State: ContainerRunning, Attempt: 0}, StartedAt: t0},
		}},
	}
	compute := func(pod *corev1.Pod, last *corev1.PodStatus, now time.Time, ready bool) corev1.PodStatus {
		return computePodStatus(statusInput{
			pod: pod, last: last, state: state, now: now, hostIP: "192.0.2.1", runtimeName: "memory",
			ready: func(string) bool { return ready }, started: func(string) bool { return true },
		})
	}
	first := compute(pod, nil, t0, true)
	fromAPI := pod.DeepCopy()
	fromAPI.Status = *first.DeepCopy()
	tests := []struct {
		name      string
		pod       *corev1.Pod
		last      *corev1.PodStatus
		ready     bool
		wantStart time.Time
		// wantReadySince is the Ready condition's transition time; the
		// other conditions keep t0.
		wantReadySince time.Time
	}{
		{"the informer has not delivered the last write yet", pod, &first, true, t0, t0},
		{"the informer has delivered it", fromAPI, &first, true, t0, t0},
		{"a kubelet restarted knows only the pod from the API", fromAPI, nil, true, t0, t0},
		{"readiness changed since the last status", pod, &first, false, t0, later},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compute(tt.pod, tt.last, later, tt.ready)
			if got.StartTime == nil || !got.StartTime.Time.Equal(tt.wantStart) {
				t.Errorf("startTime: got %v, want %v", got.StartTime, tt.wantStart)
			}
			for _, c := range got.Conditions {
				want := t0
				if c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
					want = tt.wantReadySince
				}
				if !c.LastTransitionTime.Time.Equal(want) {
					t.Errorf("%s: got lastTransitionTime %v, want %v", c.Type, c.LastTransitionTime.Time, want)
				}
			}
			if tt.ready && !equality.Semantic.DeepEqual(got, first) {
				t.Errorf("got a status other than the last one for the same state:\n%+v\nwant\n%+v", got, first)
			}
		})
	}
}

func TestLastLinesCountsAcrossFiles(t *testing.T) {
	tests := []struct {
		in       string
		n        int64
		want     string
		wantMore int64
	}{
		{"a\nb\nc\n", 2, "b\nc\n", 0},
		{"a\nb\nc\n", 3, "a\nb\nc\n", 0},
		{"a\nb\n", 5, "a\nb\n", 3},
		{"", 2, "", 2},
		{"a\nb", 1, "b", 0},
	}
	for _, tt := range tests {
		got, more := lastLines([]byte(tt.in), tt.n)
		if string(got) != tt.want || more != tt.wantMore {
			t.Errorf("lastLines(%q, %d): got %q, %d; want %q, %d", tt.in, tt.n, got, more, tt.want, tt.wantMore)
		}
	}
}

func TestRotateLogKeepsMaxFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	for i := range 6 {
		if err := os.WriteFile(path, []byte(strings.Repeat(fmt.Sprint(i), 2000)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := rotateLog(path, 1024, 3); err != nil {
			t.Fatal(err)
		}
	}
	files := logFiles(path)
	if len(files) != 3 {
		t.Fatalf("got files %v, want 3", files)
	}
	b1, _ := os.ReadFile(path + ".1")
	b2, _ := os.ReadFile(path + ".2")
	live, _ := os.ReadFile(path)
	if len(live) != 0 || !strings.HasPrefix(string(b1), "5") || !strings.HasPrefix(string(b2), "4") {
		t.Errorf("got live %d bytes, .1 %.3q, .2 %.3q; want empty, 5…, 4…", len(live), b1, b2)
	}
}

func TestWriteAtomicSwapsContentAndSkipsUnchanged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	p1 := map[string]fileData{"a": {[]byte("1"), 0o644}, "sub/b": {[]byte("2"), 0o600}}
	if changed, err := writeAtomic(dir, p1); err != nil || !changed {
		t.Fatalf("first write: got %v, %v", changed, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sub", "b")); string(b) != "2" {
		t.Errorf("sub/b: got %q, want 2", b)
	}
	if changed, err := writeAtomic(dir, p1); err != nil || changed {
		t.Errorf("same payload: got changed %v, %v; want no write", changed, err)
	}
	if changed, err := writeAtomic(dir, map[string]fileData{"a": {[]byte("3"), 0o644}}); err != nil || !changed {
		t.Fatalf("new payload: got %v, %v", changed, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "3" {
		t.Errorf("a: got %q, want 3", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); err == nil {
		t.Errorf("sub still there after it left the payload")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 { // a, ..data, one ..<timestamp> folder
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("entries: got %v, want a, ..data and one data folder", names)
	}
	if _, err := writeAtomic(dir, map[string]fileData{"../escape": {}}); err == nil {
		t.Errorf("a path leaving the volume: got nil error")
	}
}
