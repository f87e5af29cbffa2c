package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/internal/testimage"
)

// TestRealKubectlExecRunsCommandsInARealContainer drives Kubernetes' own
// kubectl exec through the API server to the kubelet of a `navarch agent`
// running a pod on containerd: output, standard input, the command's exit
// code, a container picked with -c, and the refusals (no such container,
// a view user, a command that does not exist).
func TestRealKubectlExecRunsCommandsInARealContainer(t *testing.T) {
	containerdtest.Require(t, "containerd", "runc")
	server, cs, agent := startJoinedNode(t, "ex1")
	archive := filepath.Join(t.TempDir(), "testapp.tar")
	if err := os.WriteFile(archive, testimage.Archive(t, testimage.Ref, testimage.Image(t, "v1")), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runNavarch(t, "", nil, "image", "import", "--data-dir", agent.dataDir, archive); r.code != 0 {
		t.Fatalf("image import: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	ctx := context.Background()
	container := func(name string) corev1.Container {
		return corev1.Container{Name: name, Image: testimage.Ref, ImagePullPolicy: corev1.PullNever,
			Command: []string{testimage.Binary, "sleep"}, Env: []corev1.EnvVar{{Name: "WHO", Value: name}}}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "shell", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:                      "ex1",
			TerminationGracePeriodSeconds: ptrInt64(1),
			Containers:                    []corev1.Container{container("main"), container("side")},
		},
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "pod shell Running", func() bool {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "shell", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	})
	k := kubectltest.New(t, server.kubeconfig)

	t.Run("output of a command", func(t *testing.T) {
		r := k.Run(t, "exec", "shell", "-c", "main", "--", testimage.Binary, "echo", "hello", "from", "exec")
		if r.ExitCode != 0 || r.Stdout != "hello from exec\n" {
			t.Errorf("got %s, want exit 0 and %q", r, "hello from exec\n")
		}
	})
	t.Run("the container's environment, in the container named", func(t *testing.T) {
		r := k.Run(t, "exec", "shell", "-c", "side", "--", testimage.Binary, "cat", "/proc/self/environ")
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "WHO=side") {
			t.Errorf("got %s, want WHO=side in the environment", r)
		}
	})
	t.Run("standard input reaches the command and its end ends it", func(t *testing.T) {
		r := k.RunWithInput(t, "line one\nline two\n", "exec", "-i", "shell", "-c", "main", "--", testimage.Binary, "cat", "/dev/stdin")
		if r.ExitCode != 0 || r.Stdout != "line one\nline two\n" {
			t.Errorf("got %s, want the input back", r)
		}
	})
	t.Run("the command's exit code is kubectl's", func(t *testing.T) {
		r := k.Run(t, "exec", "shell", "-c", "main", "--", testimage.Binary, "exit", "3")
		if r.ExitCode != 3 || !strings.Contains(r.Stdout, "exiting with 3") {
			t.Errorf("got %s, want exit 3 and the command's output", r)
		}
	})
	t.Run("a command that does not exist fails", func(t *testing.T) {
		r := k.Run(t, "exec", "shell", "-c", "main", "--", "/no/such/program")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "/no/such/program") {
			t.Errorf("got %s, want a failure naming the program", r)
		}
	})
	t.Run("two containers and none named", func(t *testing.T) {
		r := k.Run(t, "exec", "shell", "--", testimage.Binary, "echo", "x")
		// kubectl picks the first container itself and says so.
		if r.ExitCode != 0 || r.Stdout != "x\n" || !strings.Contains(r.Stderr, `Defaulted container "main"`) {
			t.Errorf("got %s, want the default container main to answer", r)
		}
	})
	t.Run("an unknown container is refused", func(t *testing.T) {
		r := k.Run(t, "exec", "shell", "-c", "nope", "--", testimage.Binary, "echo", "x")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "container nope is not valid for pod shell") {
			t.Errorf("got %s, want a refusal naming the container", r)
		}
	})
	t.Run("a view user may not exec", func(t *testing.T) {
		tokens, err := os.OpenFile(filepath.Join(server.dataDir, "tokens.csv"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tokens.WriteString("viewer-token-for-exec,viewer,u-viewer,navarch:view\n")
		tokens.Close()
		if err != nil {
			t.Fatal(err)
		}
		cfg := server.restConfig(t)
		cfg.BearerToken = "viewer-token-for-exec"
		kv := kubectltest.New(t, kubectltest.WriteKubeconfig(t, cfg))
		if r := kv.Run(t, "get", "pod", "shell"); r.ExitCode != 0 {
			t.Fatalf("the view user cannot get the pod: %s", r)
		}
		r := kv.Run(t, "exec", "shell", "-c", "main", "--", testimage.Binary, "echo", "x")
		if r.ExitCode == 0 || !strings.Contains(strings.ToLower(r.Stderr), "forbidden") {
			t.Errorf("got %s, want Forbidden", r)
		}
	})
}
