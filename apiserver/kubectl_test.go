package apiserver_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

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

// kubectlStep is one kubectl command of a scenario and what its output
// must show.
type kubectlStep struct {
	name string
	// before runs first (to change the manifest or the cluster meanwhile).
	before func(t *testing.T)
	args   []string
	// fails: the command must exit non-zero, want is then read in stderr.
	fails bool
	want  []string
	// count: the number of times want[0] must appear, when not 0.
	count int
}

func TestRealKubectlWorksAgainstTheServer(t *testing.T) {
	srv := testserver.Start(t)
	k := kubectltest.New(t, srv.WriteKubeconfig())
	manifest := filepath.Join(t.TempDir(), "app.yaml")
	write := func(content string) func(t *testing.T) {
		return func(t *testing.T) {
			if err := os.WriteFile(manifest, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []kubectlStep{
		{name: "get ns", args: []string{"get", "ns"},
			want: []string{"NAME", "STATUS", "default", "kube-system", "kube-node-lease", "navarch-system", "Active"}},
		{name: "api-resources", args: []string{"api-resources"},
			want: []string{"pods", "po", "deployments", "deploy", "apps/v1", "sources", "gitops.navarch.dev/v1alpha1"}},
		{name: "first apply creates", before: write(appManifests), args: []string{"apply", "-f", manifest},
			want: []string{"configmap/shop-config created", "deployment.apps/shop created", "service/shop created"}},
		{name: "second apply changes nothing", args: []string{"apply", "-f", manifest},
			want: []string{"configmap/shop-config unchanged", "deployment.apps/shop unchanged", "service/shop unchanged"}},
		{name: "apply of a change configures", before: write(strings.Replace(appManifests, "greeting: hello", "greeting: bonjour", 1)),
			args: []string{"apply", "-f", manifest}, want: []string{"configmap/shop-config configured"}},
		{name: "get -w prints a row per event from tables on the watch",
			before: func(t *testing.T) {
				go func() {
					time.Sleep(1500 * time.Millisecond)
					_, _ = srv.ClientSet().CoreV1().ConfigMaps("default").Patch(context.Background(), "shop-config",
						types.MergePatchType, []byte(`{"data":{"watched":"yes"}}`), metav1.PatchOptions{})
				}()
			},
			args: []string{"get", "configmap", "shop-config", "-w", "--output-watch-events", "--request-timeout=4s"},
			want: []string{"shop-config", "EVENT", "ADDED", "MODIFIED"}, count: 2},
		{name: "get -o yaml shows the defaults", args: []string{"get", "deploy", "shop", "-o", "yaml"},
			want: []string{"revisionHistoryLimit: 10", "progressDeadlineSeconds: 600", "maxSurge: 25%", "maxUnavailable: 25%", "imagePullPolicy: IfNotPresent", "generation: 1"}},
		{name: "get of two kinds prints tables", args: []string{"get", "pods,deploy,svc"},
			want: []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "deployment.apps/shop", "CLUSTER-IP", "service/shop", "10."}},
		{name: "scale", args: []string{"scale", "deploy", "shop", "--replicas=3"}, want: []string{"deployment.apps/shop scaled"}},
		{name: "the scale took", args: []string{"get", "deploy", "shop", "-o", "jsonpath={.spec.replicas}"}, want: []string{"3"}},
		// The scale took .spec.replicas over: a server-side apply of the
		// manifest's replicas conflicts, as in Kubernetes, until forced.
		{name: "server-side apply conflicts with the scale", args: []string{"apply", "--server-side", "-f", manifest}, fails: true,
			want: []string{`conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas`}},
		{name: "forced server-side apply", args: []string{"apply", "--server-side", "--force-conflicts", "-f", manifest},
			want: []string{"deployment.apps/shop serverside-applied"}},
		{name: "the forced apply took", args: []string{"get", "deploy", "shop", "-o", "jsonpath={.spec.replicas}"}, want: []string{"2"}},
		{name: "delete -f", args: []string{"delete", "-f", manifest},
			want: []string{`configmap "shop-config" deleted`, `deployment.apps "shop" deleted`, `service "shop" deleted`}},
		{name: "an unknown field is refused by name", before: write(strings.Replace(appManifests, "  replicas: 2\n", "  replicas: 2\n  replicaz: 3\n", 1)),
			args: []string{"apply", "-f", manifest}, fails: true, want: []string{`strict decoding error: unknown field "spec.replicaz"`}},
		{name: "get after delete", args: []string{"get", "deploy", "shop"}, fails: true, want: []string{`deployments.apps "shop" not found`}},
	}
	for _, step := range steps {
		if step.before != nil {
			step.before(t)
		}
		r := k.Run(t, step.args...)
		out := r.Stdout
		if step.fails {
			out = r.Stderr
		}
		if (r.ExitCode != 0) != step.fails {
			t.Errorf("%s: got exit %d\n%s", step.name, r.ExitCode, r)
			continue
		}
		for _, want := range step.want {
			if !strings.Contains(out, want) {
				t.Errorf("%s: got\n%s\nwant %q", step.name, r, want)
			}
		}
		if step.count > 0 && strings.Count(out, step.want[0]) != step.count {
			t.Errorf("%s: got\n%s\nwant %q %d times", step.name, r, step.want[0], step.count)
		}
	}
}
