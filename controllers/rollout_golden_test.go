package controllers

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the .golden files under testdata/")

// rolloutScenario is one testdata/rollout/*.yaml file: a Deployment,
// changes made to it at given steps, and how pods behave.
type rolloutScenario struct {
	Deployment     *appsv1.Deployment `json:"deployment"`
	SecondsPerStep int                `json:"secondsPerStep"`
	MaxSteps       int                `json:"maxSteps"`
	// NeverReady lists images whose pods never become available.
	NeverReady []string        `json:"neverReady"`
	Events     []scenarioEvent `json:"events"`
}

// scenarioEvent is a user action at the start of a step, as kubectl would
// make it: set the image, scale, pause/resume, or roll back to a revision.
type scenarioEvent struct {
	Step     int    `json:"step"`
	Image    string `json:"image,omitempty"`
	Replicas *int32 `json:"replicas,omitempty"`
	Paused   *bool  `json:"paused,omitempty"`
	Undo     *int64 `json:"undo,omitempty"`
	Note     string `json:"note,omitempty"`
}

// simRS is a ReplicaSet in the simulated cluster plus its pods.
type simRS struct {
	rs          *appsv1.ReplicaSet
	terminating int32 // pods deleted this step, gone at the next
}

// TestRolloutGolden steps each scenario through PlanRollout with a
// simulated ReplicaSet controller and kubelet, checks maxSurge and
// maxUnavailable after every step, and compares the story with .golden.
func TestRolloutGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/rollout/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios under testdata/rollout (%v)", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			got := runScenario(t, file)
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read %s: %v (run go test -run TestRolloutGolden -update)", golden, err)
			}
			if got != string(want) {
				t.Errorf("%s differs:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

type simulation struct {
	t     *testing.T
	sc    rolloutScenario
	d     *appsv1.Deployment
	rss   map[string]*simRS
	now   time.Time
	out   strings.Builder
	steps int
}

func runScenario(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sc rolloutScenario
	if err := yaml.UnmarshalStrict(raw, &sc); err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	if sc.SecondsPerStep == 0 {
		sc.SecondsPerStep = 10
	}
	if sc.MaxSteps == 0 {
		sc.MaxSteps = 60
	}
	s := &simulation{t: t, sc: sc, d: sc.Deployment, rss: map[string]*simRS{},
		now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	if s.d.Generation == 0 {
		s.d.Generation = 1
	}
	lastEvent := 0
	for _, e := range sc.Events {
		lastEvent = max(lastEvent, e.Step)
	}
	for step := 0; step < sc.MaxSteps; step++ {
		quiet := s.step(step)
		if step >= lastEvent && quiet && s.complete() {
			break
		}
	}
	return s.out.String()
}

// step runs one sync: pods created last step become ready, the user's
// changes land, the planner plans, the plan is applied and the ReplicaSet
// controller reacts. It reports whether the plan changed nothing.
func (s *simulation) step(step int) bool {
	t := s.t
	s.now = s.now.Add(time.Duration(s.sc.SecondsPerStep) * time.Second)
	s.tick()
	var notes []string
	for _, e := range s.sc.Events {
		if e.Step == step {
			notes = append(notes, s.apply(e))
		}
	}
	before := s.available()
	plan, err := PlanRollout(RolloutInput{Deployment: s.d, ReplicaSets: s.list(), OldPodsRunning: s.oldPodsRunning(), Now: s.now})
	if err != nil {
		t.Fatalf("step %d: %v", step, err)
	}
	fmt.Fprintf(&s.out, "step %d (t=%ds)", step, (step+1)*s.sc.SecondsPerStep)
	if len(notes) > 0 {
		fmt.Fprintf(&s.out, ": %s", strings.Join(notes, ", "))
	}
	s.out.WriteString("\n")
	for _, a := range plan.Actions {
		s.applyAction(a)
	}
	for _, e := range plan.Events {
		fmt.Fprintf(&s.out, "  event %s %s: %s\n", e.Type, e.Reason, e.Message)
	}
	if plan.RequeueAfter > 0 {
		fmt.Fprintf(&s.out, "  requeue after %s\n", plan.RequeueAfter)
	}
	spec := s.d.Spec
	s.d = plan.Deployment
	s.d.Spec = spec
	s.report()
	s.check(step, before)
	return len(plan.Actions) == 0 && !plan.StatusChanged && !plan.AnnotationsChanged
}

// tick: terminating pods are gone, observed generations catch up, and
// pods that existed at the end of the last step are ready and available
// unless their image never gets ready.
func (s *simulation) tick() {
	for _, r := range s.rss {
		r.terminating = 0
		r.rs.Status.ObservedGeneration = r.rs.Generation
		ready := r.rs.Status.Replicas
		if slices.Contains(s.sc.NeverReady, r.rs.Spec.Template.Spec.Containers[0].Image) {
			ready = 0
		}
		r.rs.Status.ReadyReplicas, r.rs.Status.AvailableReplicas = ready, ready
	}
}

func (s *simulation) apply(e scenarioEvent) string {
	d := s.d
	var note string
	switch {
	case e.Image != "":
		d.Spec.Template.Spec.Containers[0].Image = e.Image
		note = "set image " + e.Image
	case e.Replicas != nil:
		d.Spec.Replicas = e.Replicas
		note = fmt.Sprintf("scale to %d", *e.Replicas)
	case e.Paused != nil:
		d.Spec.Paused = *e.Paused
		note = map[bool]string{true: "pause", false: "resume"}[*e.Paused]
	case e.Undo != nil:
		note = fmt.Sprintf("undo to revision %d", *e.Undo)
		found := false
		for _, r := range s.rss {
			if rev, _ := Revision(r.rs); rev == *e.Undo {
				tmpl := r.rs.Spec.Template.DeepCopy()
				delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
				d.Spec.Template = *tmpl
				found = true
			}
		}
		if !found {
			s.t.Fatalf("undo: no ReplicaSet with revision %d", *e.Undo)
		}
	}
	if e.Note != "" {
		note += " (" + e.Note + ")"
	}
	d.Generation++
	return note
}

func (s *simulation) applyAction(a Action) {
	rs := a.ReplicaSet.DeepCopy()
	var rev string
	if rs.Annotations[RevisionAnnotation] != "" {
		rev = " [rev " + rs.Annotations[RevisionAnnotation]
		if h := rs.Annotations[RevisionHistoryAnnotation]; h != "" {
			rev += ", history " + h
		}
		rev += "]"
	}
	switch a.Type {
	case ActionCreate:
		rs.UID = types.UID("uid-" + rs.Name)
		rs.Generation = 1
		s.rss[rs.Name] = &simRS{rs: rs}
		fmt.Fprintf(&s.out, "  create %s replicas %d%s\n", rs.Name, a.To, rev)
	case ActionScale, ActionUpdate:
		cur := s.rss[rs.Name]
		if cur == nil {
			s.t.Fatalf("%s of unknown ReplicaSet %s", a.Type, rs.Name)
		}
		rs.Status = cur.rs.Status
		rs.Generation = cur.rs.Generation + 1
		cur.rs = rs
		if a.Type == ActionScale {
			fmt.Fprintf(&s.out, "  scale %s %d→%d%s\n", rs.Name, a.From, a.To, rev)
		} else {
			fmt.Fprintf(&s.out, "  update %s%s\n", rs.Name, rev)
		}
	case ActionDelete:
		delete(s.rss, rs.Name)
		fmt.Fprintf(&s.out, "  delete %s%s\n", rs.Name, rev)
		return
	}
	// The ReplicaSet controller: create missing pods (not ready yet), or
	// delete extra ones, not-ready first.
	r := s.rss[rs.Name]
	want := replicas(r.rs.Spec.Replicas)
	st := &r.rs.Status
	if st.Replicas > want {
		r.terminating += st.Replicas - want
	}
	st.Replicas = want
	st.ReadyReplicas = min(st.ReadyReplicas, want)
	st.AvailableReplicas = min(st.AvailableReplicas, want)
}

func (s *simulation) list() []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, name := range s.names() {
		out = append(out, s.rss[name].rs)
	}
	return out
}

func (s *simulation) names() []string {
	var names []string
	for n := range s.rss {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := s.rss[names[i]].rs, s.rss[names[j]].rs
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
	return names
}

func (s *simulation) isNew(rs *appsv1.ReplicaSet) bool {
	return EqualIgnoreHash(&rs.Spec.Template, &s.d.Spec.Template)
}

func (s *simulation) oldPodsRunning() bool {
	for _, r := range s.rss {
		if !s.isNew(r.rs) && (r.terminating > 0 || r.rs.Status.Replicas > 0) {
			return true
		}
	}
	return false
}

func (s *simulation) available() int32 {
	var n int32
	for _, r := range s.rss {
		n += r.rs.Status.AvailableReplicas
	}
	return n
}

func (s *simulation) pods() int32 {
	var n int32
	for _, r := range s.rss {
		n += r.rs.Status.Replicas
	}
	return n
}

func (s *simulation) report() {
	var parts []string
	for _, name := range s.names() {
		rs := s.rss[name].rs
		parts = append(parts, fmt.Sprintf("%s rev %s pods %d available %d", name,
			rs.Annotations[RevisionAnnotation], rs.Status.Replicas, rs.Status.AvailableReplicas))
	}
	if len(parts) > 0 {
		fmt.Fprintf(&s.out, "  rs %s\n", strings.Join(parts, " | "))
	}
	st := s.d.Status
	fmt.Fprintf(&s.out, "  deployment rev %s gen %d/%d replicas %d updated %d ready %d available %d unavailable %d",
		s.d.Annotations[RevisionAnnotation], st.ObservedGeneration, s.d.Generation, st.Replicas, st.UpdatedReplicas,
		st.ReadyReplicas, st.AvailableReplicas, st.UnavailableReplicas)
	for _, c := range st.Conditions {
		fmt.Fprintf(&s.out, " | %s=%s %s", c.Type, c.Status, c.Reason)
	}
	s.out.WriteString("\n")
}

// check asserts the rolling-update contract after a step: no more than
// replicas+maxSurge pods (Recreate: replicas, and never old and new pods
// at once), and availability never pushed below replicas−maxUnavailable
// by the controller (it may start lower, e.g. right after a scale-up).
func (s *simulation) check(step int, availableBefore int32) {
	t := s.t
	want := replicas(s.d.Spec.Replicas)
	limit := want + MaxSurge(s.d)
	if pods := s.pods(); pods > limit {
		t.Errorf("step %d: got %d pods, want at most %d (replicas %d + maxSurge %d)", step, pods, limit, want, MaxSurge(s.d))
	}
	floor := min(availableBefore, want-MaxUnavailable(s.d))
	if got := s.available(); isRollingUpdate(s.d) && got < floor {
		t.Errorf("step %d: got %d available, want at least %d", step, got, floor)
	}
	if !isRollingUpdate(s.d) {
		var oldPods, newPods int32
		for _, r := range s.rss {
			if s.isNew(r.rs) {
				newPods += r.rs.Status.Replicas
			} else {
				oldPods += r.rs.Status.Replicas + r.terminating
			}
		}
		if oldPods > 0 && newPods > 0 {
			t.Errorf("step %d: Recreate runs %d old and %d new pods at once", step, oldPods, newPods)
		}
	}
}

func (s *simulation) complete() bool {
	c := getCondition(s.d.Status, appsv1.DeploymentProgressing)
	return deploymentComplete(s.d, &s.d.Status) && (c == nil || c.Reason == ReasonNewReplicaSetAvailable)
}
