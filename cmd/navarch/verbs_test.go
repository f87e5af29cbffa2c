package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// TestNavarchClientVerbsAreKubectls runs navarch's own get, apply,
// describe and delete, which find the kubeconfig in the data dir.
func TestNavarchClientVerbsAreKubectls(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServer(t, dataDir)
	env := []string{"NAVARCH_DATA_DIR=" + dataDir}
	run := func(t *testing.T, stdin string, args ...string) string {
		t.Helper()
		r := runNavarch(t, stdin, env, args...)
		if r.code != 0 {
			t.Fatalf("navarch %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}

	t.Run("get ns finds the data dir's kubeconfig", func(t *testing.T) {
		if out := run(t, "", "get", "ns", "-o", "name"); !strings.Contains(out, "namespace/navarch-system") {
			t.Errorf("got %q, want namespace/navarch-system", out)
		}
	})
	t.Run("apply -f reads a file, a folder and stdin", func(t *testing.T) {
		manifest, err := os.ReadFile(filepath.Join("testdata", "app", "configmap.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if out := run(t, string(manifest), "apply", "-f", "-"); !strings.Contains(out, "configmap/web-config created") {
			t.Errorf("stdin: got %q", out)
		}
		if out := run(t, "", "apply", "-f", "testdata/app/service.yaml"); !strings.Contains(out, "service/web created") {
			t.Errorf("file: got %q", out)
		}
		if out := run(t, "", "apply", "-f", "testdata/app"); !strings.Contains(out, "deployment.apps/web created") ||
			!strings.Contains(out, "service/web unchanged") {
			t.Errorf("folder: got %q", out)
		}
	})
	t.Run("get prints every output format", func(t *testing.T) {
		var d appsv1.Deployment
		if err := json.Unmarshal([]byte(run(t, "", "get", "deploy", "web", "-o", "json")), &d); err != nil || d.Name != "web" {
			t.Errorf("-o json: got %q (%v)", d.Name, err)
		}
		if out := run(t, "", "get", "deploy", "web", "-o", "yaml"); !strings.Contains(out, "revisionHistoryLimit: 10") {
			t.Errorf("-o yaml: got %q", out)
		}
		if out := strings.TrimSpace(run(t, "", "get", "deploy", "-o", "name")); out != "deployment.apps/web" {
			t.Errorf("-o name: got %q, want deployment.apps/web", out)
		}
		if out := run(t, "", "get", "deploy", "-o", "wide"); !regexp.MustCompile(`(?m)^NAME\s+READY.*CONTAINERS\s+IMAGES\s+SELECTOR$`).MatchString(out) ||
			!strings.Contains(out, "example.com/web:1.0") {
			t.Errorf("-o wide: got %q", out)
		}
	})
	t.Run("describe shows the object", func(t *testing.T) {
		out := run(t, "", "describe", "deploy", "web")
		for _, re := range []string{`(?m)^Name:\s+web$`, `(?m)^StrategyType:\s+RollingUpdate$`, `(?m)^Namespace:\s+default$`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("got\n%s\nwant a line matching %s", out, re)
			}
		}
	})
	t.Run("the built-in kubectl runs any kubectl verb", func(t *testing.T) {
		out := run(t, "", "kubectl", "get", "configmap", "web-config", "-o", "jsonpath={.data.GREETING}")
		if out != "hello" {
			t.Errorf("got %q, want hello", out)
		}
	})
	t.Run("delete -f removes them", func(t *testing.T) {
		run(t, "", "delete", "-f", "testdata/app")
		if out := run(t, "", "get", "deploy,svc,cm", "-o", "name"); strings.Contains(out, "web") {
			t.Errorf("got %q after delete, want no web objects", out)
		}
	})
	t.Run("KUBECONFIG wins over the data dir", func(t *testing.T) {
		env := []string{"NAVARCH_DATA_DIR=" + t.TempDir(), "KUBECONFIG=" + srv.kubeconfig}
		if r := runNavarch(t, "", env, "get", "ns", "default", "-o", "name"); r.code != 0 || r.stdout != "namespace/default\n" {
			t.Errorf("got exit %d, stdout %q, stderr %q; want namespace/default", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("an explicit --kubeconfig wins over the data dir", func(t *testing.T) {
		r := runNavarch(t, "", env, "get", "ns", "--kubeconfig", filepath.Join(t.TempDir(), "absent"))
		if r.code == 0 || !strings.Contains(r.stderr, "absent") {
			t.Errorf("got exit %d, stderr %q; want a failure naming the absent kubeconfig", r.code, r.stderr)
		}
	})
}
