package main

import (
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/navarch/navarch/internal/kubectltest"
)

const soloPod = `apiVersion: v1
kind: Pod
metadata:
  name: solo
spec:
  containers:
  - name: main
    image: example.com/solo:1.0
`

// TestRealKubectlWorksWithTheWrittenKubeconfig drives Kubernetes' own
// kubectl through a user's first session against `navarch server`.
func TestRealKubectlWorksWithTheWrittenKubeconfig(t *testing.T) {
	srv := startServer(t, t.TempDir())
	k := kubectltest.New(t, srv.kubeconfig)

	t.Run("get ns lists the namespaces that exist from the start", func(t *testing.T) {
		out := k.MustRun(t, "get", "ns")
		if !regexp.MustCompile(`(?m)^NAME\s+STATUS\s+AGE$`).MatchString(out) {
			t.Errorf("got %q, want a table with NAME STATUS AGE", out)
		}
		for _, ns := range []string{"default", "kube-system", "kube-node-lease", "navarch-system"} {
			if !regexp.MustCompile(`(?m)^` + ns + `\s+Active\s`).MatchString(out) {
				t.Errorf("got %q, want namespace %s Active", out, ns)
			}
		}
	})

	t.Run("apply -f of a folder creates each object", func(t *testing.T) {
		out := k.MustRun(t, "apply", "-f", "testdata/app")
		for _, want := range []string{"configmap/web-config created", "deployment.apps/web created", "service/web created"} {
			if !strings.Contains(out, want) {
				t.Errorf("got %q, want %q", out, want)
			}
		}
	})

	t.Run("applying the same folder again changes nothing", func(t *testing.T) {
		r := k.Run(t, "apply", "-f", "testdata/app")
		if r.ExitCode != 0 {
			t.Fatalf("got exit %d, want 0\n%s", r.ExitCode, r)
		}
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if len(lines) != 3 {
			t.Fatalf("got %d lines %q, want one per object", len(lines), r.Stdout)
		}
		for _, l := range lines {
			if !strings.HasSuffix(l, " unchanged") && !strings.HasSuffix(l, " configured") {
				t.Errorf("got %q, want unchanged or configured", l)
			}
		}
	})

	t.Run("get deploy -o yaml shows Kubernetes defaults", func(t *testing.T) {
		var d appsv1.Deployment
		if err := yaml.Unmarshal([]byte(k.MustRun(t, "get", "deploy", "web", "-o", "yaml")), &d); err != nil {
			t.Fatalf("parse deployment: %v", err)
		}
		s := d.Spec
		checks := []struct {
			name      string
			got, want any
		}{
			{"strategy", s.Strategy.Type, appsv1.RollingUpdateDeploymentStrategyType},
			{"maxSurge", s.Strategy.RollingUpdate.MaxSurge.String(), "25%"},
			{"maxUnavailable", s.Strategy.RollingUpdate.MaxUnavailable.String(), "25%"},
			{"revisionHistoryLimit", *s.RevisionHistoryLimit, int32(10)},
			{"progressDeadlineSeconds", *s.ProgressDeadlineSeconds, int32(600)},
			{"restartPolicy", string(s.Template.Spec.RestartPolicy), "Always"},
			{"terminationGracePeriodSeconds", *s.Template.Spec.TerminationGracePeriodSeconds, int64(30)},
			{"imagePullPolicy", string(s.Template.Spec.Containers[0].ImagePullPolicy), "IfNotPresent"},
			{"generation", d.Generation, int64(1)},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
			}
		}
		if d.UID == "" || d.ResourceVersion == "" || d.CreationTimestamp.IsZero() {
			t.Errorf("got uid %q, resourceVersion %q, creationTimestamp %v; want all set", d.UID, d.ResourceVersion, d.CreationTimestamp)
		}
	})

	t.Run("get pods,deploy prints a table per kind", func(t *testing.T) {
		r := k.RunWithInput(t, soloPod, "apply", "-f", "-")
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "pod/solo created") {
			t.Fatalf("apply a pod from stdin:\n%s", r)
		}
		out := k.MustRun(t, "get", "pods,deploy")
		for _, re := range []string{
			`(?m)^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$`,
			`(?m)^pod/solo\s+0/1\s+Pending\s+0\s+\S+$`,
			`(?m)^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$`,
			// With no node, the controllers create the pods (UP-TO-DATE 2) but none is available.
			`(?m)^deployment.apps/web\s+0/2\s+[0-2]\s+0\s+\S+$`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("got\n%s\nwant a line matching %s", out, re)
			}
		}
	})

	t.Run("delete -f removes what apply created", func(t *testing.T) {
		out := k.MustRun(t, "delete", "-f", "testdata/app")
		for _, want := range []string{`configmap "web-config" deleted`, `deployment.apps "web" deleted`, `service "web" deleted`} {
			if !strings.Contains(out, want) {
				t.Errorf("got %q, want %q", out, want)
			}
		}
		r := k.Run(t, "get", "deploy", "web")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "NotFound") {
			t.Errorf("get a deleted deployment:\n%s\nwant a NotFound error", r)
		}
	})
}
