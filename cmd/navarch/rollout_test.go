package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/kubelet/hollow"
)

// TestRolloutVerbsOfKubectlAndNavarch drives a Deployment through the
// real kubectl's rollout verbs and navarch's own (kubectl's, embedded)
// against `navarch server` with hollow nodes running its pods.
func TestRolloutVerbsOfKubectlAndNavarch(t *testing.T) {
	srv := startServer(t, t.TempDir())
	cs := srv.clientset(t)
	nodes, err := hollow.Start(context.Background(), hollow.Options{
		Count: 2, NamePrefix: "rollout-", Client: cs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nodes.Stop() })
	k := kubectltest.New(t, srv.kubeconfig)
	navarch := func(t *testing.T, args ...string) string {
		t.Helper()
		r := runNavarch(t, "", nil, append([]string{"--kubeconfig", srv.kubeconfig}, args...)...)
		if r.code != 0 {
			t.Fatalf("navarch %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	expect := func(t *testing.T, out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("got %q, want it to contain %q", out, w)
			}
		}
	}
	const rolledOut = `deployment "web" successfully rolled out`

	k.MustRun(t, "create", "deployment", "web", "--image=registry.example/web:1", "--replicas=3")
	expect(t, k.MustRun(t, "rollout", "status", "deployment/web", "--timeout=60s"), rolledOut)

	t.Run("describe tells the story in events", func(t *testing.T) {
		expect(t, k.MustRun(t, "describe", "deployment", "web"), "ScalingReplicaSet", "Scaled up replica set web-")
		// kubectl shows events when it describes one object.
		pod := strings.TrimPrefix(strings.TrimSpace(k.MustRun(t, "get", "pods", "-l", "app=web", "-o", "name")), "pod/")
		pod, _, _ = strings.Cut(pod, "\n")
		expect(t, navarch(t, "describe", "pod", pod), "Scheduled", "Successfully assigned default/"+pod+" to rollout-")
		rs := strings.TrimSpace(k.MustRun(t, "get", "replicasets", "-l", "app=web", "-o", "name"))
		expect(t, k.MustRun(t, "describe", rs), "SuccessfulCreate", "Created pod: web-")
	})

	t.Run("a new image rolls out and both revisions are in the history", func(t *testing.T) {
		k.MustRun(t, "set", "image", "deployment/web", "web=registry.example/web:2")
		expect(t, navarch(t, "rollout", "status", "deployment/web", "--timeout=60s"), rolledOut)
		expect(t, k.MustRun(t, "rollout", "history", "deployment/web"), "REVISION", "\n1 ", "\n2 ")
		expect(t, navarch(t, "rollout", "history", "deployment/web", "--revision=1"), "registry.example/web:1")
	})

	t.Run("undo --to-revision brings the old template back as a new revision", func(t *testing.T) {
		expect(t, k.MustRun(t, "rollout", "undo", "deployment/web", "--to-revision=1"), "rolled back")
		expect(t, k.MustRun(t, "rollout", "status", "deployment/web", "--timeout=60s"), rolledOut)
		d := getDeployment(t, cs)
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.example/web:1" {
			t.Errorf("got image %s, want registry.example/web:1", img)
		}
		if rev := d.Annotations["deployment.kubernetes.io/revision"]; rev != "3" {
			t.Errorf("got revision %s, want 3", rev)
		}
	})

	t.Run("a paused deployment waits for resume", func(t *testing.T) {
		expect(t, navarch(t, "rollout", "pause", "deployment/web"), "paused")
		k.MustRun(t, "set", "image", "deployment/web", "web=registry.example/web:3")
		time.Sleep(time.Second)
		if img := podImages(t, cs); img["registry.example/web:3"] != 0 {
			t.Fatalf("got %v while paused, want no pod of web:3", img)
		}
		expect(t, k.MustRun(t, "rollout", "resume", "deployment/web"), "resumed")
		expect(t, k.MustRun(t, "rollout", "status", "deployment/web", "--timeout=60s"), rolledOut)
		if img := podImages(t, cs); img["registry.example/web:3"] != 3 {
			t.Fatalf("got %v after resume, want 3 pods of web:3", img)
		}
	})

	t.Run("restart rolls every pod again", func(t *testing.T) {
		before := getDeployment(t, cs).Annotations["deployment.kubernetes.io/revision"]
		expect(t, navarch(t, "rollout", "restart", "deployment/web"), "restarted")
		expect(t, navarch(t, "rollout", "status", "deployment/web", "--timeout=60s"), rolledOut)
		d := getDeployment(t, cs)
		if d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
			t.Error("got no restartedAt annotation on the template")
		}
		if after := d.Annotations["deployment.kubernetes.io/revision"]; after == before {
			t.Errorf("got revision %s after restart, want a new one", after)
		}
	})
}

func getDeployment(t *testing.T, cs kubernetes.Interface) *appsv1.Deployment {
	t.Helper()
	d, err := cs.AppsV1().Deployments("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// podImages counts the running, not terminating pods of app=web by image.
func podImages(t *testing.T, cs kubernetes.Interface) map[string]int {
	t.Helper()
	l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			out[p.Spec.Containers[0].Image]++
		}
	}
	return out
}
