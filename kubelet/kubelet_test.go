package kubelet_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/kubelet"
)

func TestNodeRegistersWithCapacityInfoConditionsAndLease(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	k, _ := memNode(t, srv, "n1")
	n := waitNode(t, cs, "n1", 10*time.Second, "Ready", func(n *corev1.Node) bool {
		c := nodeCondition(n, corev1.NodeReady)
		return c != nil && c.Status == corev1.ConditionTrue
	})
	if got := n.Status.Capacity.Pods().Value(); got != 110 {
		t.Errorf("capacity pods: got %d, want 110", got)
	}
	if got := n.Status.Capacity.Cpu().Value(); got != 4 {
		t.Errorf("capacity cpu: got %d, want 4", got)
	}
	if got := n.Status.Allocatable.Memory().Value(); got != 8<<30 {
		t.Errorf("allocatable memory: got %d, want %d", got, 8<<30)
	}
	if got := n.Status.NodeInfo.ContainerRuntimeVersion; got != "memory://0.1.0" {
		t.Errorf("runtime version: got %q, want memory://0.1.0", got)
	}
	if n.Status.NodeInfo.KubeletVersion != kubelet.Version {
		t.Errorf("kubelet version: got %q, want %q", n.Status.NodeInfo.KubeletVersion, kubelet.Version)
	}
	wantAddr := map[corev1.NodeAddressType]string{corev1.NodeInternalIP: "127.0.0.1", corev1.NodeHostName: "n1"}
	for _, a := range n.Status.Addresses {
		if wantAddr[a.Type] != a.Address {
			t.Errorf("address %s: got %q, want %q", a.Type, a.Address, wantAddr[a.Type])
		}
		delete(wantAddr, a.Type)
	}
	if len(wantAddr) > 0 {
		t.Errorf("missing addresses %v", wantAddr)
	}
	for _, ct := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		if c := nodeCondition(n, ct); c == nil || c.Status != corev1.ConditionFalse {
			t.Errorf("condition %s: got %+v, want False", ct, c)
		}
	}
	if n.Labels[corev1.LabelHostname] != "n1" || n.Labels[corev1.LabelOSStable] != "linux" {
		t.Errorf("labels: got %v, want hostname and os", n.Labels)
	}
	lease, err := cs.CoordinationV1().Leases(kubelet.NodeLeaseNamespace).Get(context.Background(), "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("lease: %v", err)
	}
	if *lease.Spec.HolderIdentity != "n1" || *lease.Spec.LeaseDurationSeconds != 40 || len(lease.OwnerReferences) != 1 {
		t.Errorf("lease: got %+v, want held by n1 for 40s and owned by the node", lease.Spec)
	}
	first := lease.Spec.RenewTime.Time
	time.Sleep(1500 * time.Millisecond)
	lease, _ = cs.CoordinationV1().Leases(kubelet.NodeLeaseNamespace).Get(context.Background(), "n1", metav1.GetOptions{})
	if !lease.Spec.RenewTime.After(first) {
		t.Errorf("lease renew time: got %v after %v, want it renewed", lease.Spec.RenewTime.Time, first)
	}
	_ = k
}

func TestNodeStatusIsWrittenOnlyWhenItChanges(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	memNode(t, srv, "quiet")
	n := waitNode(t, cs, "quiet", 10*time.Second, "Ready", func(n *corev1.Node) bool {
		c := nodeCondition(n, corev1.NodeReady)
		return c != nil && c.Status == corev1.ConditionTrue
	})
	rv := n.ResourceVersion
	time.Sleep(2 * time.Second) // four status periods
	n, err := cs.CoreV1().Nodes().Get(context.Background(), "quiet", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.ResourceVersion != rv {
		t.Errorf("node resourceVersion: got %s after 2s, want %s (no write without a change)", n.ResourceVersion, rv)
	}
}

func TestPodRunsWithStatusAndGracefulDeletionRemovesIt(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	_, rt := memNode(t, srv, "n1")
	ctx := context.Background()
	pod := testPod("web", "n1", []string{"serve"}, []string{"sleep"})
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, cs, "default", "web", 10*time.Second, "Running and Ready", func(p *corev1.Pod) bool {
		return running(p) && podReady(p)
	})
	if !strings.HasPrefix(p.Status.PodIP, "10.77.0.") || p.Status.HostIP != "127.0.0.1" || p.Status.StartTime == nil {
		t.Errorf("got podIP %q hostIP %q startTime %v, want an IP of 10.77.0.0/24, 127.0.0.1 and a start time", p.Status.PodIP, p.Status.HostIP, p.Status.StartTime)
	}
	for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		found := false
		for _, pc := range p.Status.Conditions {
			found = found || pc.Type == c && pc.Status == corev1.ConditionTrue
		}
		if !found {
			t.Errorf("condition %s: want True in %+v", c, p.Status.Conditions)
		}
	}
	for _, c := range p.Status.ContainerStatuses {
		if !strings.HasPrefix(c.ContainerID, "memory://") || c.RestartCount != 0 || !c.Ready || c.Started == nil || !*c.Started {
			t.Errorf("container %s: got %+v, want a memory:// id, 0 restarts, ready and started", c.Name, c)
		}
	}
	if err := cs.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, cs, "default", "web", 10*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		sbs, _ := rt.ListPodSandboxes(ctx, kubelet.SandboxFilter{})
		ctrs, _ := rt.ListContainers(ctx, kubelet.ContainerFilter{})
		if len(sbs) == 0 && len(ctrs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runtime after deletion: got %d sandboxes and %d containers, want none", len(sbs), len(ctrs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReadOnlyPortServesHealthzSpecAndPods(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	k, _ := memNode(t, srv, "ro", func(o *kubelet.Options) { o.ReadOnlyPort = kubelet.AnyPort })
	if _, err := cs.CoreV1().Pods("default").Create(context.Background(), testPod("p", "ro", []string{"sleep"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, cs, "default", "p", 10*time.Second, "Running", running)
	base := "http://" + k.ReadOnlyAddr()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok" {
		t.Errorf("/healthz: got %d %q, want 200 ok", code, body)
	}
	code, body := get("/spec")
	var spec kubelet.MachineInfo
	if err := json.Unmarshal([]byte(body), &spec); code != 200 || err != nil || spec.NumCores != 4 {
		t.Errorf("/spec: got %d %q (%v), want 200 with num_cores 4", code, body, err)
	}
	code, body = get("/pods")
	var list corev1.PodList
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || list.Kind != "PodList" || len(list.Items) != 1 || list.Items[0].Name != "p" {
		t.Fatalf("/pods: got %d %.300s (%v), want a PodList with pod p", code, body, err)
	}
	if list.Items[0].Status.Phase != corev1.PodRunning {
		t.Errorf("/pods: got phase %s, want Running", list.Items[0].Status.Phase)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "kubelet_started_containers_total 1") {
		t.Errorf("/metrics: got %d, want 200 with kubelet_started_containers_total 1:\n%.2000s", code, body)
	}
}
