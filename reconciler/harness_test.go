package reconciler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/internal/testserver"
	"github.com/navarch/navarch/sources/gittest"
	"github.com/navarch/navarch/store"
)

// env is a running API server with a reconciler in it, a Git server with
// one repository, and clients.
type env struct {
	t       testing.TB
	srv     *testserver.Server
	ctrl    *Controller
	kube    kubernetes.Interface
	sources *SourceClient
	git     *gittest.Server
	repo    *gittest.Repo
	reg     *prometheus.Registry
}

// newEnv starts the API server and the reconciler (mounted at
// /webhooks/), and a Git server with a repository "shop".
func newEnv(t testing.TB, opts ...func(*Options)) *env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("NAVARCH_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := testserver.Start(t)
	o := Options{
		Store: srv.Store(), Config: srv.RESTConfig(), DataDir: t.TempDir(), Logger: logger,
		HealthPoll: 100 * time.Millisecond, DirDebounce: 100 * time.Millisecond,
		Admitter: serverAdmission(srv),
	}
	for _, f := range opts {
		f(&o)
	}
	ctrl, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := ctrl.Register(reg); err != nil {
		t.Fatal(err)
	}
	srv.API().Handle(WebhookPath, ctrl.WebhookHandler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("reconciler: %v", err)
		}
	})
	e := &env{t: t, srv: srv, ctrl: ctrl, kube: srv.ClientSet(), reg: reg}
	if e.sources, err = NewSourceClient(srv.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	e.git = gittest.NewServer(t)
	e.repo = e.git.NewRepo(t, "shop")
	return e
}

// createSource creates a Git Source on the env's repository following
// branch main under path, prune on, polling every hour (tests trigger
// syncs themselves).
func (e *env) createSource(name, path string, mutate ...func(*gitopsv1alpha1.Source)) *gitopsv1alpha1.Source {
	e.t.Helper()
	src := &gitopsv1alpha1.Source{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "navarch-system"},
		Spec: gitopsv1alpha1.SourceSpec{
			Git:      &gitopsv1alpha1.GitSource{URL: e.repo.URL, Ref: gitopsv1alpha1.GitRef{Branch: "main"}},
			Path:     path,
			Interval: metav1.Duration{Duration: time.Hour},
			Prune:    true,
		},
	}
	for _, f := range mutate {
		f(src)
	}
	out, err := e.sources.Create(context.Background(), src)
	if err != nil {
		e.t.Fatalf("create source: %v", err)
	}
	return out
}

// setSpec changes the Source's spec with change, retrying on a conflict
// with the reconciler's status writes.
func (e *env) setSpec(name string, change func(*gitopsv1alpha1.SourceSpec)) {
	e.t.Helper()
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		src, err := e.sources.Get(ctx, "navarch-system", name)
		if err != nil {
			e.t.Fatalf("get source: %v", err)
		}
		change(&src.Spec)
		_, err = e.sources.Update(ctx, src)
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) || attempt == 10 {
			e.t.Fatalf("update source: %v", err)
		}
	}
}

// requestSync sets the requestedAt annotation, as `navarch sync` does.
func (e *env) requestSync(name string) {
	e.t.Helper()
	if _, err := e.sources.RequestSync(context.Background(), "navarch-system", name, time.Now()); err != nil {
		e.t.Fatalf("request sync: %v", err)
	}
}

// waitSource polls the Source until cond holds, failing after timeout
// with the last status.
func (e *env) waitSource(name string, timeout time.Duration, what string, cond func(*gitopsv1alpha1.Source) bool) *gitopsv1alpha1.Source {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last *gitopsv1alpha1.Source
	for time.Now().Before(deadline) {
		src, err := e.sources.Get(context.Background(), "navarch-system", name)
		if err == nil {
			last = src
			if cond(src) {
				return src
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("source %s: timed out waiting for %s; status: %s", name, what, describeStatus(last))
	return nil
}

// waitApplied waits until the Source's ready condition is True at the
// revision of commit.
func (e *env) waitReady(name, commit string) *gitopsv1alpha1.Source {
	e.t.Helper()
	want := "main@sha1:" + commit
	return e.waitSource(name, 30*time.Second, "Ready at "+want, func(s *gitopsv1alpha1.Source) bool {
		c := findCondition(s, gitopsv1alpha1.ConditionReady)
		return s.Status.LastAppliedRevision == want && c != nil && c.Status == metav1.ConditionTrue
	})
}

func describeStatus(s *gitopsv1alpha1.Source) string {
	if s == nil {
		return "(none read)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "attempted=%s applied=%s errors=%v", s.Status.LastAttemptedRevision, s.Status.LastAppliedRevision, s.Status.Errors)
	for _, c := range s.Status.Conditions {
		fmt.Fprintf(&b, "\n  %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	for _, h := range s.Status.History {
		fmt.Fprintf(&b, "\n  history %s %s %s", h.Revision, h.Result, h.Message)
	}
	return b.String()
}

// actAsDeploymentController marks every Deployment available as soon as
// it appears or changes, in place of the controller manager (which these
// tests do not run): observedGeneration and all replica counts follow the
// spec. It stops when the test ends.
func (e *env) actAsDeploymentController() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			list, err := e.kube.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
			if err == nil {
				for i := range list.Items {
					markAvailable(ctx, e.kube, &list.Items[i])
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
}

func markAvailable(ctx context.Context, kube kubernetes.Interface, d *appsv1.Deployment) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := &d.Status
	if s.ObservedGeneration == d.Generation && s.AvailableReplicas == want && s.UpdatedReplicas == want && s.Replicas == want {
		return
	}
	s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas = d.Generation, want, want, want, want
	_, _ = kube.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
}

// configMap returns the ConfigMap namespace/name, or nil when there is
// none.
func (e *env) configMap(namespace, name string) *corev1.ConfigMap {
	e.t.Helper()
	cm, err := e.kube.CoreV1().ConfigMaps(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return cm
}

// etcdRevision is the store's current revision: it moves with every write.
func (e *env) etcdRevision() int64 {
	e.t.Helper()
	rev, err := e.srv.Store().Revision(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return rev
}

// app is a small application's manifests under apps/.
func app(image string) map[string]string {
	return map[string]string{
		"apps/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n",
		"apps/config.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  greeting: hello\n",
		"apps/web/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`,
		"apps/web/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: ` + image + `}]
`,
		"README.md": "# shop\n",
	}
}

// serverAdmission admits through the test API server's own admission, as
// the binary does.
func serverAdmission(srv *testserver.Server) Admitter {
	return AdmitFunc(func(ctx context.Context, action Action, res api.Resource, obj, old runtime.Object) ([]store.Op, error) {
		return srv.API().Admit(ctx, string(action), res, obj, old, FieldManager)
	})
}
