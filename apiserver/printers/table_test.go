package printers

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestRowsCarryTheObjectAsIncludeObjectAsks(t *testing.T) {
	pod := &fixturePods().Items[0]
	tests := []struct {
		policy   metav1.IncludeObjectPolicy
		wantKind string // "" means no object
	}{
		{"", "PartialObjectMetadata"},
		{metav1.IncludeMetadata, "PartialObjectMetadata"},
		{metav1.IncludeObject, "Pod"},
		{metav1.IncludeNone, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			table, err := ToTable(pod, TableOptions{IncludeObject: tt.policy, Now: now})
			if err != nil {
				t.Fatalf("ToTable: %v", err)
			}
			data, err := json.Marshal(table.Rows[0].Object)
			if err != nil {
				t.Fatalf("encode row object: %v", err)
			}
			if tt.wantKind == "" {
				if string(data) != "null" {
					t.Errorf("got row object %s, want null", data)
				}
				return
			}
			var got struct {
				APIVersion string            `json:"apiVersion"`
				Kind       string            `json:"kind"`
				Metadata   metav1.ObjectMeta `json:"metadata"`
				Spec       *json.RawMessage  `json:"spec"`
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("decode row object %s: %v", data, err)
			}
			wantAPIVersion := "meta.k8s.io/v1"
			if tt.wantKind == "Pod" {
				wantAPIVersion = "v1"
			}
			if got.Kind != tt.wantKind || got.APIVersion != wantAPIVersion {
				t.Errorf("got row object %s %s, want %s %s", got.APIVersion, got.Kind, wantAPIVersion, tt.wantKind)
			}
			if got.Metadata.Name != pod.Name || got.Metadata.UID != pod.UID || got.Metadata.ResourceVersion != pod.ResourceVersion {
				t.Errorf("got row metadata %+v, want that of pod %s", got.Metadata, pod.Name)
			}
			if (got.Spec != nil) != (tt.wantKind == "Pod") {
				t.Errorf("got spec present %v, want %v", got.Spec != nil, tt.wantKind == "Pod")
			}
		})
	}
	if !pod.GetObjectKind().GroupVersionKind().Empty() {
		t.Errorf("ToTable set the kind of the object it was given: %v", pod.GetObjectKind().GroupVersionKind())
	}
}

func TestAnUnknownIncludeObjectPolicyIsRefused(t *testing.T) {
	_, err := ToTable(&fixturePods().Items[0], TableOptions{IncludeObject: "Everything"})
	if !errors.Is(err, ErrIncludeObject) {
		t.Fatalf("got error %v, want ErrIncludeObject", err)
	}
}

func TestListTablesKeepTheListMetadata(t *testing.T) {
	list := fixturePods()
	list.Continue = "next-page"
	list.RemainingItemCount = ptr(int64(17))
	table, err := ToTable(list, TableOptions{Now: now})
	if err != nil {
		t.Fatalf("ToTable: %v", err)
	}
	if table.ResourceVersion != "1234" || table.Continue != "next-page" || table.RemainingItemCount == nil || *table.RemainingItemCount != 17 {
		t.Errorf("got list meta %+v, want resourceVersion 1234, continue next-page, remaining 17", table.ListMeta)
	}
	if table.Kind != "Table" || table.APIVersion != "meta.k8s.io/v1" {
		t.Errorf("got %s %s, want meta.k8s.io/v1 Table", table.APIVersion, table.Kind)
	}
	if len(table.Rows) != len(list.Items) {
		t.Errorf("got %d rows, want %d", len(table.Rows), len(list.Items))
	}
}

func TestASingleObjectTableKeepsItsResourceVersion(t *testing.T) {
	table, err := ToTable(&fixtureDeployments().Items[0], TableOptions{Now: now})
	if err != nil {
		t.Fatalf("ToTable: %v", err)
	}
	if table.ResourceVersion != "42" || len(table.Rows) != 1 {
		t.Errorf("got resourceVersion %q and %d rows, want 42 and 1", table.ResourceVersion, len(table.Rows))
	}
}

func TestAnEmptyListStillHasItsKindsColumns(t *testing.T) {
	table, err := ToTable(&appsv1.DeploymentList{}, TableOptions{Now: now})
	if err != nil {
		t.Fatalf("ToTable: %v", err)
	}
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if got, want := strings.Join(names, ","), "Name,Ready,Up-to-date,Available,Age,Containers,Images,Selector"; got != want {
		t.Errorf("got columns %s, want %s", got, want)
	}
	if table.Rows == nil || len(table.Rows) != 0 {
		t.Errorf("got rows %v, want an empty, non-nil list (kubectl prints \"No resources found\")", table.Rows)
	}
}

func TestNoHeadersLeavesOutTheColumns(t *testing.T) {
	table, err := ToTable(fixturePods(), TableOptions{NoHeaders: true, Now: now})
	if err != nil {
		t.Fatalf("ToTable: %v", err)
	}
	if len(table.ColumnDefinitions) != 0 {
		t.Errorf("got %d column definitions, want none", len(table.ColumnDefinitions))
	}
}

func TestEveryRowHasOneCellPerColumn(t *testing.T) {
	for _, list := range []runtime.Object{fixturePods(), fixtureDeployments(), fixtureReplicaSets(), fixtureNodes(), fixtureServices(),
		fixtureNamespaces(), fixtureEndpoints(), fixtureEndpointSlices(), fixtureConfigMaps(), fixtureSecrets(),
		fixtureEvents(), fixtureLeases(), fixtureServiceAccounts(), fixtureSources()} {
		table, err := ToTable(list, TableOptions{Now: now})
		if err != nil {
			t.Fatalf("ToTable(%T): %v", list, err)
		}
		for i, row := range table.Rows {
			if len(row.Cells) != len(table.ColumnDefinitions) {
				t.Errorf("%T row %d: got %d cells, want %d", list, i, len(row.Cells), len(table.ColumnDefinitions))
			}
		}
	}
}

func TestFinishedPodRowsAreMarkedCompleted(t *testing.T) {
	table, err := ToTable(fixturePods(), TableOptions{Now: now})
	if err != nil {
		t.Fatalf("ToTable: %v", err)
	}
	last := table.Rows[len(table.Rows)-1]
	if len(last.Conditions) != 1 || last.Conditions[0].Type != metav1.RowCompleted || last.Conditions[0].Reason != "Succeeded" {
		t.Errorf("got conditions %+v for a succeeded pod, want Completed/Succeeded", last.Conditions)
	}
	if len(table.Rows[0].Conditions) != 0 {
		t.Errorf("got conditions %+v for a running pod, want none", table.Rows[0].Conditions)
	}
}

func TestPodStatusIsComputedAsKubectlShowsIt(t *testing.T) {
	sidecarPolicy := corev1.ContainerRestartPolicyAlways
	tests := []struct {
		name       string
		pod        corev1.Pod
		wantStatus string
		wantReady  string
	}{
		{"a pod without status reports its phase", corev1.Pod{Spec: corev1.PodSpec{Containers: containers("a")}, Status: corev1.PodStatus{Phase: corev1.PodPending}}, "Pending", "0/1"},
		{"a status reason wins over the phase", corev1.Pod{Spec: corev1.PodSpec{Containers: containers("a")}, Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted"}}, "Evicted", "0/1"},
		{"a waiting container shows its reason", pod(corev1.PodPending, waiting("a", "ContainerCreating", 0)), "ContainerCreating", "0/1"},
		{"an image pull failure shows", pod(corev1.PodPending, waiting("a", "ErrImagePull", 0)), "ErrImagePull", "0/1"},
		{"a terminated container without reason shows its exit code", pod(corev1.PodRunning, terminated("a", "", 2, 0)), "ExitCode:2", "0/1"},
		{"a killed container shows its signal", pod(corev1.PodRunning, terminated("a", "", 0, 9)), "Signal:9", "0/1"},
		{"an OOM kill shows", pod(corev1.PodRunning, terminated("a", "OOMKilled", 137, 0)), "OOMKilled", "0/1"},
		{"the first container's state wins", pod(corev1.PodRunning, waiting("a", "CrashLoopBackOff", 3), terminated("b", "Error", 1, 0)), "CrashLoopBackOff", "0/2"},
		{"ready running containers count", pod(corev1.PodRunning, running("a", 0), running("b", 0)), "Running", "2/2"},
		{"a completed container beside a running one is NotReady without the Ready condition", pod(corev1.PodRunning, terminated("a", "Completed", 0, 0), running("b", 0)), "NotReady", "1/2"},
		{"an init container waiting to start", initPod(waiting("i1", "PodInitializing", 0), waiting("i2", "", 0)), "Init:0/2", "0/1"},
		{"the second init container running", initPod(terminated("i1", "Completed", 0, 0), running("i2", 0)), "Init:1/2", "0/1"},
		{"a crashing init container", initPod(waiting("i1", "CrashLoopBackOff", 4)), "Init:CrashLoopBackOff", "0/1"},
		{"a failed init container", initPod(terminated("i1", "Error", 1, 0)), "Init:Error", "0/1"},
		{"an init container killed by a signal", initPod(terminated("i1", "", 143, 15)), "Init:Signal:15", "0/1"},
		{"a started sidecar counts towards ready", func() corev1.Pod {
			p := pod(corev1.PodRunning, running("a", 0))
			p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &sidecarPolicy}}
			s := running("proxy", 0)
			s.Started = ptr(true)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{s}
			return p
		}(), "Running", "2/2"},
		{"a scheduling-gated pod says so", func() corev1.Pod {
			p := pod(corev1.PodPending)
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
			return p
		}(), "SchedulingGated", "0/1"},
		{"a pod being deleted is Terminating", func() corev1.Pod {
			p := pod(corev1.PodRunning, running("a", 0))
			p.DeletionTimestamp = ptr(ago(time.Second))
			return p
		}(), "Terminating", "1/1"},
		{"a finished pod being deleted keeps its status", func() corev1.Pod {
			p := pod(corev1.PodSucceeded, terminated("a", "Completed", 0, 0))
			p.DeletionTimestamp = ptr(ago(time.Second))
			return p
		}(), "Completed", "0/1"},
		{"a pod of a lost node being deleted is Unknown", func() corev1.Pod {
			p := pod(corev1.PodRunning, running("a", 0))
			p.Status.Reason = "NodeLost"
			p.DeletionTimestamp = ptr(ago(time.Second))
			return p
		}(), "Unknown", "1/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := podSummary(&tt.pod)
			if s.status != tt.wantStatus {
				t.Errorf("got status %q, want %q", s.status, tt.wantStatus)
			}
			if got := podReadyCell(s); got != tt.wantReady {
				t.Errorf("got ready %q, want %q", got, tt.wantReady)
			}
		})
	}
}

func TestRestartsShowWhenTheLastOneHappened(t *testing.T) {
	p := pod(corev1.PodRunning, running("a", 2), running("b", 1))
	p.Status.ContainerStatuses[1].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: ago(5 * time.Minute)}
	table, err := ToTable(&p, TableOptions{Now: now})
	if err != nil {
		t.Fatalf("ToTable: %v", err)
	}
	if got := table.Rows[0].Cells[3]; got != "3 (5m ago)" {
		t.Errorf("got restarts %q, want %q", got, "3 (5m ago)")
	}
}

func TestShortRevisionShortensGitHashesOnly(t *testing.T) {
	tests := []struct{ in, want string }{
		{"3f2a9c1b7e4d5f60718293a4b5c6d7e8f9012345", "3f2a9c1b7e4d"},
		{"main@sha1:3f2a9c1b7e4d5f60718293a4b5c6d7e8f9012345", "main@sha1:3f2a9c1b7e4d"},
		{"sha256:" + strings.Repeat("ab", 32), "sha256:abababababab"},
		{"v1.2.3", "v1.2.3"},
		{"dir@2026-03-14T12:00:00Z", "dir@2026-03-14T12:00:00Z"},
		{"3f2a9c1b", "3f2a9c1b"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ShortRevision(tt.in); got != tt.want {
			t.Errorf("ShortRevision(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func pod(phase corev1.PodPhase, statuses ...corev1.ContainerStatus) corev1.Pod {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = s.Name
	}
	if len(names) == 0 {
		names = []string{"a"}
	}
	return corev1.Pod{ObjectMeta: objMeta("p", time.Hour), Spec: corev1.PodSpec{Containers: containers(names...)},
		Status: corev1.PodStatus{Phase: phase, ContainerStatuses: statuses}}
}

func initPod(statuses ...corev1.ContainerStatus) corev1.Pod {
	p := pod(corev1.PodPending, waiting("app", "PodInitializing", 0))
	p.Spec.InitContainers = containers("i1", "i2")
	p.Status.InitContainerStatuses = statuses
	return p
}

func podReadyCell(s podStatusSummary) string {
	return strconv.Itoa(s.ready) + "/" + strconv.Itoa(s.total)
}

func TestUnstructuredObjectsGetNameAndAge(t *testing.T) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("example.com/v1")
	u.SetKind("Widget")
	u.SetName("w1")
	u.SetCreationTimestamp(ago(2 * time.Hour))
	table, err := ToTable(&unstructured.UnstructuredList{Items: []unstructured.Unstructured{*u}}, TableOptions{Now: now})
	if err != nil {
		t.Fatalf("ToTable: %v", err)
	}
	if len(table.Rows) != 1 || table.Rows[0].Cells[0] != "w1" || table.Rows[0].Cells[1] != "120m" {
		t.Errorf("got rows %+v, want w1 120m", table.Rows)
	}
}
