package reconciler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/store"
)

// benchRevision is a revision of 1,000 objects in namespace ns, spread
// over files of 50 documents: the Namespace, 400 ConfigMaps, 200 Secrets,
// 200 Services and 199 Deployments, each saying value.
func benchRevision(ns, value string) *Artifact {
	var docs []string
	docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns))
	for i := 0; i < 400; i++ {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: %s, labels: {app: bench}}\ndata: {value: %q, text: %q}\n",
			i, ns, value, strings.Repeat("x", 200)))
	}
	for i := 0; i < 200; i++ {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: secret-%d, namespace: %s}\nstringData: {password: %q}\n", i, ns, value))
	}
	for i := 0; i < 200; i++ {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: %s}\nspec:\n  selector: {app: app-%d}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n", i, ns, i))
	}
	for i := 0; i < 199; i++ {
		docs = append(docs, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app-%d, namespace: %s}
spec:
  replicas: 2
  selector: {matchLabels: {app: app-%d}}
  template:
    metadata: {labels: {app: app-%d}, annotations: {value: %q}}
    spec:
      containers:
      - name: app
        image: navarch.local/hello:v1
        args: [serve, --port, "8080"]
        ports: [{containerPort: 8080}]
        env: [{name: VALUE, value: %q}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}}
        resources: {requests: {cpu: 10m, memory: 16Mi}}
`, i, ns, i, i, value, value))
	}
	files := map[string][]byte{}
	for i := 0; i < len(docs); i += 50 {
		end := min(i+50, len(docs))
		files[fmt.Sprintf("apps/part-%02d.yaml", i/50)] = []byte(strings.Join(docs[i:end], "---\n"))
	}
	return &Artifact{Revision: "main@sha1:" + fmt.Sprintf("%040x", len(value)) + value, Files: files, Time: time.Now()}
}

// benchController is a controller over a test server, not running: the
// benchmarks call its sync step directly with an artifact, as Reconcile
// does after a fetch.
func benchController(b *testing.B) (*Controller, *testserver.Server) {
	b.Helper()
	srv := testserver.Start(b)
	c, err := New(Options{Store: srv.Store(), Config: srv.RESTConfig(), DataDir: b.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Admitter: serverAdmission(srv)})
	if err != nil {
		b.Fatal(err)
	}
	return c, srv
}

func benchSource() *gitopsv1alpha1.Source {
	return &gitopsv1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: "navarch-system", Generation: 1},
		Spec: gitopsv1alpha1.SourceSpec{Prune: true}}
}

// BenchmarkSyncOf1000ObjectsFromFetchedToCommitted applies a fetched
// 1,000-object revision to the store: parse, validate, read the live
// objects, plan, admit and commit in one transaction. Each iteration
// applies a new revision in a namespace of its own, so every object is a
// create.
func BenchmarkSyncOf1000ObjectsFromFetchedToCommitted(b *testing.B) {
	c, _ := benchController(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		art := benchRevision(fmt.Sprintf("bench-%d", i), "v1")
		src, st := benchSource(), &sourceState{}
		b.StartTimer()
		ok, err := c.syncStep(ctx, "navarch-system/bench", src, st, art, time.Now())
		if err != nil || !ok {
			b.Fatalf("sync: ok=%v err=%v errors=%v", ok, err, src.Status.Errors)
		}
		if n := len(src.Status.Inventory); n != 1000 {
			b.Fatalf("got %d objects applied, want 1000", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/sync")
}

// BenchmarkResyncOfAnUnchangedRevision syncs a revision the store already
// holds, as the poll that corrects drift does: it reads the live objects
// and plans everything again (the parsed revision is kept per Source) and
// must write nothing.
func BenchmarkResyncOfAnUnchangedRevision(b *testing.B) {
	benchResync(b, false)
}

// BenchmarkResyncOfAnUnchangedRevisionParsedAgain is the same, parsing and
// validating the files again each time (a restarted server's first sync).
func BenchmarkResyncOfAnUnchangedRevisionParsedAgain(b *testing.B) {
	benchResync(b, true)
}

func benchResync(b *testing.B, parseAgain bool) {
	c, srv := benchController(b)
	ctx := context.Background()
	art := benchRevision("bench", "v1")
	src, st := benchSource(), &sourceState{}
	if ok, err := c.syncStep(ctx, "navarch-system/bench", src, st, art, time.Now()); err != nil || !ok {
		b.Fatalf("first sync: %v %v", err, src.Status.Errors)
	}
	before, err := srv.Store().Revision(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if parseAgain {
			st = &sourceState{}
		}
		if ok, err := c.syncStep(ctx, "navarch-system/bench", src, st, art, time.Now()); err != nil || !ok {
			b.Fatalf("resync: %v", err)
		}
	}
	b.StopTimer()
	after, err := srv.Store().Revision(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(after-before), "etcd-writes")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/sync")
	if after != before {
		b.Fatalf("got %d etcd writes for unchanged revisions, want 0", after-before)
	}
}

// BenchmarkWebhookToRevisionApplied pushes a commit to a Git server, then
// times from sending the push's webhook to the API server until the
// revision's object is in the store (fetch over HTTP, sync, commit). It
// reports the median and the 90th percentile.
func BenchmarkWebhookToRevisionApplied(b *testing.B) {
	e := newEnv(b)
	e.actAsDeploymentController()
	e.createWebhookSecret()
	ctx := context.Background()
	cm := func(v string) map[string]string {
		return map[string]string{"apps/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hooked}\ndata: {v: \"" + v + "\"}\n"}
	}
	files := app("navarch.local/hello:v1")
	for k, v := range cm("start") {
		files[k] = v
	}
	first := e.repo.CommitAndPush("start", files)
	e.createSource("shop", "apps", withWebhook)
	e.waitReady("shop", first)
	key := "/registry/core/configmaps/default/hooked"
	var durations []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		value := fmt.Sprintf("v%d", i)
		commit := e.repo.CommitAndPush(value, cm(value))
		h, body := delivery(e.t, "github", commit, "bench-"+value, []byte(hookToken))
		b.StartTimer()
		start := time.Now()
		if code := e.post(WebhookPath+"navarch-system/shop", h, body); code != http.StatusAccepted {
			b.Fatalf("got %d, want 202", code)
		}
		waitStored(ctx, b, e.srv.Store(), key, value)
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[len(durations)*9/10].Microseconds())/1000, "p90-ms")
}

// waitStored polls the store until the ConfigMap at key says value.
func waitStored(ctx context.Context, b *testing.B, st *store.Store, key, value string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		cm := &corev1.ConfigMap{}
		if err := st.Get(ctx, key, cm); err == nil && cm.Data["v"] == value {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("%s never said %s", key, value)
}
