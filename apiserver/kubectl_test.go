package apiserver_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/navarch/navarch/internal/kubectltest"
	"github.com/navarch/navarch/internal/testserver"
)

func TestMain(m *testing.M) { os.Exit(kubectltest.Main(m)) }

const appManifests = `apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels: {app: shop}
spec:
  replicas: 2
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
      - name: shop
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports:
  - port: 80
    targetPort: 80
`

func TestRealKubectlWorksAgainstTheServer(t *testing.T) {
	srv := testserver.Start(t)
	k := kubectltest.New(t, srv.WriteKubeconfig())
	dir := t.TempDir()
	manifest := filepath.Join(dir, "app.yaml")
	if err := os.WriteFile(manifest, []byte(appManifests), 0o600); err != nil {
		t.Fatal(err)
	}

	out := k.MustRun(t, "get", "ns")
	for _, ns := range []string{"NAME", "STATUS", "default", "kube-system", "kube-node-lease", "navarch-system", "Active"} {
		if !strings.Contains(out, ns) {
			t.Errorf("kubectl get ns: got\n%s\nwant it to show %q", out, ns)
		}
	}

	out = k.MustRun(t, "api-resources")
	for _, want := range []string{"pods", "po", "deployments", "deploy", "apps/v1", "sources", "gitops.navarch.dev/v1alpha1"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl api-resources: got\n%s\nwant it to list %q", out, want)
		}
	}

	out = k.MustRun(t, "apply", "-f", manifest)
	for _, want := range []string{"configmap/shop-config created", "deployment.apps/shop created", "service/shop created"} {
		if !strings.Contains(out, want) {
			t.Errorf("first apply: got\n%s\nwant %q", out, want)
		}
	}
	out = k.MustRun(t, "apply", "-f", manifest)
	for _, want := range []string{"configmap/shop-config unchanged", "deployment.apps/shop unchanged", "service/shop unchanged"} {
		if !strings.Contains(out, want) {
			t.Errorf("second apply: got\n%s\nwant %q", out, want)
		}
	}
	changed := strings.Replace(appManifests, "greeting: hello", "greeting: bonjour", 1)
	if err := os.WriteFile(manifest, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	out = k.MustRun(t, "apply", "-f", manifest)
	if !strings.Contains(out, "configmap/shop-config configured") {
		t.Errorf("apply of a change: got\n%s\nwant configmap/shop-config configured", out)
	}

	out = k.MustRun(t, "get", "deploy", "shop", "-o", "yaml")
	for _, want := range []string{"revisionHistoryLimit: 10", "progressDeadlineSeconds: 600", "maxSurge: 25%", "maxUnavailable: 25%", "imagePullPolicy: IfNotPresent", "generation: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("get deploy -o yaml: got\n%s\nwant %q", out, want)
		}
	}

	out = k.MustRun(t, "get", "pods,deploy")
	for _, want := range []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "deployment.apps/shop"} {
		if !strings.Contains(out, want) {
			t.Errorf("get pods,deploy: got\n%s\nwant %q", out, want)
		}
	}

	out = k.MustRun(t, "scale", "deploy", "shop", "--replicas=3")
	if !strings.Contains(out, "deployment.apps/shop scaled") {
		t.Errorf("scale: got %q", out)
	}
	if out := k.MustRun(t, "get", "deploy", "shop", "-o", "jsonpath={.spec.replicas}"); out != "3" {
		t.Errorf("replicas after scale: got %q, want 3", out)
	}

	// The scale took .spec.replicas over: a server-side apply of the
	// manifest's replicas conflicts, as in Kubernetes, until forced.
	r := k.Run(t, "apply", "--server-side", "-f", manifest)
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, `conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas`) {
		t.Errorf("apply --server-side after a scale: got exit %d\n%s\nwant a conflict on .spec.replicas", r.ExitCode, r)
	}
	out = k.MustRun(t, "apply", "--server-side", "--force-conflicts", "-f", manifest)
	if !strings.Contains(out, "deployment.apps/shop serverside-applied") {
		t.Errorf("apply --server-side --force-conflicts: got\n%s\nwant serverside-applied", out)
	}
	if out := k.MustRun(t, "get", "deploy", "shop", "-o", "jsonpath={.spec.replicas}"); out != "2" {
		t.Errorf("replicas after a forced apply: got %q, want 2", out)
	}

	out = k.MustRun(t, "delete", "-f", manifest)
	for _, want := range []string{`configmap "shop-config" deleted`, `deployment.apps "shop" deleted`, `service "shop" deleted`} {
		if !strings.Contains(out, want) {
			t.Errorf("delete -f: got\n%s\nwant %q", out, want)
		}
	}
	r = k.Run(t, "get", "deploy", "shop")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, `deployments.apps "shop" not found`) {
		t.Errorf("get after delete: got exit %d, stderr %q; want NotFound", r.ExitCode, r.Stderr)
	}
}
