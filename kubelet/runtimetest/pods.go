package runtimetest

import (
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/navarch/navarch/kubelet"
)

func sandboxCases() []testCase {
	return []testCase{
		{name: "a sandbox lives through run, list, stop and remove", run: testSandboxLifecycle},
		{name: "sandboxes and containers are listed with their labels for adoption", run: testListAndAdopt},
		{name: "reserved label keys and missing fields are invalid", run: func(t *testing.T, h *harness) {
			_, err := h.rt.RunPodSandbox(h.ctx, kubelet.SandboxConfig{UID: "u", Name: "n", Namespace: "ns",
				Labels: map[string]string{"io.navarch.kind": "x"}})
			wantErr(t, "sandbox with a reserved label", err, kubelet.ErrInvalidConfig)
			_, err = h.rt.RunPodSandbox(h.ctx, kubelet.SandboxConfig{Name: "n"})
			wantErr(t, "sandbox without uid", err, kubelet.ErrInvalidConfig)
			sb := h.sandbox(t, "invalid", nil)
			_, err = h.rt.CreateContainer(h.ctx, sb.ID, kubelet.ContainerConfig{Name: "c"})
			wantErr(t, "container without image", err, kubelet.ErrInvalidConfig)
			_, err = h.rt.CreateContainer(h.ctx, "no-such-sandbox", kubelet.ContainerConfig{Name: "c", Image: "x"})
			if err == nil {
				t.Fatal("create in an unknown sandbox: got nil error, want one")
			}
		}},
	}
}

func testSandboxLifecycle(t *testing.T, h *harness) {
	ref := h.importImage(t)
	sb := h.sandbox(t, "lifecycle", map[string]string{"app": "web"})
	if net.ParseIP(sb.IP) == nil {
		t.Fatalf("got sandbox IP %q, want an address", sb.IP)
	}
	if h.caps.Network && sb.NetNS == "" {
		t.Errorf("got no netns path, want one for a runtime with a real network")
	}
	list, err := h.rt.ListPodSandboxes(h.ctx, kubelet.SandboxFilter{ID: sb.ID})
	if err != nil || len(list) != 1 {
		t.Fatalf("list sandbox: got %d, %v; want 1", len(list), err)
	}
	got := list[0]
	if got.State != kubelet.SandboxReady || got.IP != sb.IP || got.Config.UID != "uid-lifecycle" ||
		got.Config.Namespace != "conformance" || got.Config.Labels["app"] != "web" ||
		got.Config.Annotations["note"] != "conformance" || got.CreatedAt.IsZero() {
		t.Errorf("got sandbox %+v, want ready with its IP, identity, labels and annotations", got)
	}
	id, _ := h.start(t, sb.ID, "c", "sleep")
	h.waitState(t, id, kubelet.ContainerRunning, 10*time.Second)

	if err := h.rt.StopPodSandbox(h.ctx, sb.ID); err != nil {
		t.Fatalf("stop sandbox: %v", err)
	}
	if st := h.waitState(t, id, kubelet.ContainerExited, 10*time.Second); st.FinishedAt.IsZero() {
		t.Errorf("got no finish time for a container of a stopped sandbox")
	}
	if sb.NetNS != "" {
		if _, err := os.Stat(sb.NetNS); !os.IsNotExist(err) {
			t.Errorf("got netns %s after stop (err %v), want it gone", sb.NetNS, err)
		}
	}
	list, _ = h.rt.ListPodSandboxes(h.ctx, kubelet.SandboxFilter{ID: sb.ID})
	if len(list) != 1 || list[0].State != kubelet.SandboxNotReady {
		t.Errorf("got %+v after stop, want one NotReady sandbox", list)
	}
	_, err = h.rt.CreateContainer(h.ctx, sb.ID, kubelet.ContainerConfig{Name: "late", Image: ref, Args: []string{"sleep"}})
	wantErr(t, "create in a stopped sandbox", err, kubelet.ErrSandboxNotReady)
	if err := h.rt.StopPodSandbox(h.ctx, sb.ID); err != nil {
		t.Errorf("second stop: got %v, want nil", err)
	}
	if err := h.rt.RemovePodSandbox(h.ctx, sb.ID); err != nil {
		t.Fatalf("remove sandbox: %v", err)
	}
	if list, _ := h.rt.ListPodSandboxes(h.ctx, kubelet.SandboxFilter{ID: sb.ID}); len(list) != 0 {
		t.Errorf("got %+v after remove, want none", list)
	}
	if _, err := h.rt.ContainerStatus(h.ctx, id); err == nil {
		t.Errorf("got the container's status after its sandbox was removed, want ErrNotFound")
	}
	if err := h.rt.RemovePodSandbox(h.ctx, sb.ID); err != nil {
		t.Errorf("second remove: got %v, want nil", err)
	}
	wantErr(t, "stop an unknown sandbox", h.rt.StopPodSandbox(h.ctx, sb.ID), kubelet.ErrNotFound)
}

func testListAndAdopt(t *testing.T, h *harness) {
	h.importImage(t)
	web := h.sandbox(t, "web", map[string]string{"app": "web"})
	db := h.sandbox(t, "db", map[string]string{"app": "db"})
	list, err := h.rt.ListPodSandboxes(h.ctx, kubelet.SandboxFilter{Labels: map[string]string{"app": "web"}})
	if err != nil || len(list) != 1 || list[0].ID != web.ID {
		t.Fatalf("list sandboxes app=web: got %+v, %v; want only %s", list, err, web.ID)
	}
	cfg := kubelet.ContainerConfig{
		Name: "main", Image: "navarch.test/testapp:v1", Args: []string{"sleep"}, Attempt: 3,
		Labels:      map[string]string{"navarch.dev/pod-uid": "uid-web", "navarch.dev/container": "main"},
		Annotations: map[string]string{"navarch.dev/hash": "abc123", "navarch.dev/restarts": "3"},
	}
	id, err := h.rt.CreateContainer(h.ctx, web.ID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.rt.StartContainer(h.ctx, id); err != nil {
		t.Fatal(err)
	}
	h.waitState(t, id, kubelet.ContainerRunning, 10*time.Second)
	other, _ := h.create(t, db.ID, "other", "sleep")

	tests := []struct {
		name   string
		filter kubelet.ContainerFilter
		want   []string
	}{
		{"by sandbox", kubelet.ContainerFilter{SandboxID: web.ID}, []string{id}},
		{"by label", kubelet.ContainerFilter{Labels: map[string]string{"navarch.dev/container": "main"}}, []string{id}},
		{"by state running", kubelet.ContainerFilter{State: kubelet.ContainerRunning}, []string{id}},
		{"by state created", kubelet.ContainerFilter{State: kubelet.ContainerCreated}, []string{other}},
		{"by id", kubelet.ContainerFilter{ID: other}, []string{other}},
		{"all", kubelet.ContainerFilter{}, []string{id, other}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.rt.ListContainers(h.ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if ids := containerIDs(got); strings.Join(ids, ",") != strings.Join(sorted(tt.want), ",") {
				t.Errorf("got %v, want %v", ids, sorted(tt.want))
			}
		})
	}
	got, _ := h.rt.ListContainers(h.ctx, kubelet.ContainerFilter{ID: id})
	if len(got) != 1 {
		t.Fatalf("got %d containers for id %s, want 1", len(got), id)
	}
	c := got[0]
	if c.Name != "main" || c.SandboxID != web.ID || c.Attempt != 3 || c.Image != cfg.Image ||
		c.Labels["navarch.dev/pod-uid"] != "uid-web" || c.Annotations["navarch.dev/hash"] != "abc123" ||
		c.Annotations["navarch.dev/restarts"] != "3" || c.CreatedAt.IsZero() || c.ImageID == "" {
		t.Errorf("got %+v, want name, sandbox, attempt, image, labels and annotations as created", c)
	}
	_, err = h.rt.CreateContainer(h.ctx, web.ID, kubelet.ContainerConfig{Name: "bad", Image: cfg.Image,
		Labels: map[string]string{"io.navarch.name": "x"}})
	wantErr(t, "container with a reserved label", err, kubelet.ErrInvalidConfig)
}

func containerIDs(cs []kubelet.Container) []string {
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return sorted(ids)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
