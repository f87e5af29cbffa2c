package reconciler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

func TestCommitsAreAppliedUpdatedPrunedAndInvalidOnesRefused(t *testing.T) {
	e := newEnv(t)
	e.actAsDeploymentController()
	ctx := context.Background()

	// A first commit: Source Ready at that revision, objects in the store.
	first := e.repo.CommitAndPush("Add the shop", app("navarch.local/hello:v1"))
	e.createSource("shop", "apps")
	src := e.waitReady("shop", first)
	if got := len(src.Status.Inventory); got != 4 {
		t.Errorf("got %d inventory entries, want 4: %v", got, src.Status.Inventory)
	}
	d, err := e.kube.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("deployment not applied: %v", err)
	}
	if got := d.Labels[gitopsv1alpha1.LabelSource]; got != "navarch-system.shop" {
		t.Errorf("got ownership label %q, want navarch-system.shop", got)
	}
	if got := d.Annotations[gitopsv1alpha1.AnnotationSource]; got != "navarch-system/shop" {
		t.Errorf("got ownership annotation %q, want navarch-system/shop", got)
	}
	h := src.Status.History[0]
	if h.Result != ResultReady || h.Created != 4 || h.Subject != "Add the shop" || h.Author != "Ada Lovelace <ada@example.com>" ||
		h.CommitToReadySeconds == nil || h.ReadyAt == nil || h.AppliedAt == nil {
		t.Errorf("got history entry %+v, want Ready with 4 created, the commit's subject and author, and its times", h)
	}

	// The next commit changes the Deployment and deletes a file: update and prune.
	second := e.repo.CommitAndPush("Roll out v2, drop settings", map[string]string{
		"apps/web/deployment.yaml": app("navarch.local/hello:v2")["apps/web/deployment.yaml"],
	}, "apps/config.yaml")
	e.requestSync("shop")
	src = e.waitReady("shop", second)
	d, err = e.kube.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "navarch.local/hello:v2" || d.Generation != 2 {
		t.Errorf("got image %s at generation %d, want navarch.local/hello:v2 at generation 2", img, d.Generation)
	}
	if cm := e.configMap("shop", "settings"); cm != nil {
		t.Errorf("ConfigMap shop/settings still exists after its file was deleted")
	}
	if h := src.Status.History[0]; h.Created != 0 || h.Updated != 1 || h.Pruned != 1 || h.Result != ResultReady {
		t.Errorf("got history entry %+v, want Ready with 1 updated and 1 pruned", h)
	}
	if len(src.Status.History) != 2 {
		t.Errorf("got %d history entries, want 2", len(src.Status.History))
	}

	// One invalid manifest among ten valid ones: nothing applied, the
	// status names the file and the field.
	files := map[string]string{}
	for i := 0; i < 10; i++ {
		files[fmt.Sprintf("apps/batch/cm-%d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: shop}\ndata: {i: %q}\n", i, fmt.Sprint(i))
	}
	files["apps/batch/bad.yaml"] = strings.Replace(app("navarch.local/hello:v1")["apps/web/deployment.yaml"], "name: web\n", "name: bad\n", 1)
	files["apps/batch/bad.yaml"] = strings.Replace(files["apps/batch/bad.yaml"], "replicas: 2", "replicas: -3", 1)
	before := e.etcdRevision()
	bad := e.repo.CommitAndPush("Add a batch with a mistake", files)
	e.requestSync("shop")
	src = e.waitSource("shop", 30*time.Second, "the invalid revision refused", func(s *gitopsv1alpha1.Source) bool {
		c := findCondition(s, gitopsv1alpha1.ConditionReady)
		return s.Status.LastAttemptedRevision == "main@sha1:"+bad && c != nil && c.Reason == ReasonValidationFailed
	})
	wantErr := "batch/bad.yaml: Deployment shop/bad: spec.replicas: Invalid value: -3: must be greater than or equal to 0"
	if len(src.Status.Errors) != 1 || src.Status.Errors[0] != wantErr {
		t.Errorf("got errors %q, want [%q]", src.Status.Errors, wantErr)
	}
	if c := findCondition(src, gitopsv1alpha1.ConditionReady); !strings.Contains(c.Message, wantErr) {
		t.Errorf("got Ready message %q, want it to name %q", c.Message, wantErr)
	}
	if c := findCondition(src, gitopsv1alpha1.ConditionStalled); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("got Stalled %v, want True", c)
	}
	if src.Status.LastAppliedRevision != "main@sha1:"+second {
		t.Errorf("got applied revision %s, want the previous one to stay applied", src.Status.LastAppliedRevision)
	}
	for i := 0; i < 10; i++ {
		if e.configMap("shop", fmt.Sprintf("cm-%d", i)) != nil {
			t.Fatalf("ConfigMap cm-%d of the invalid revision was applied", i)
		}
	}
	if writes := writesBesidesSources(t, e, before); writes != 0 {
		t.Errorf("got %d object writes for the invalid revision, want 0", writes)
	}
	if h := src.Status.History[0]; h.Result != ResultInvalid || h.Revision != "main@sha1:"+bad {
		t.Errorf("got newest history entry %+v, want Invalid for the bad commit", h)
	}

	// The fixing commit applies everything.
	fixed := e.repo.CommitAndPush("Fix the batch", map[string]string{
		"apps/batch/bad.yaml": strings.Replace(files["apps/batch/bad.yaml"], "replicas: -3", "replicas: 1", 1),
	})
	e.requestSync("shop")
	src = e.waitReady("shop", fixed)
	for i := 0; i < 10; i++ {
		if e.configMap("shop", fmt.Sprintf("cm-%d", i)) == nil {
			t.Errorf("ConfigMap cm-%d missing after the fixing commit", i)
		}
	}
	if len(src.Status.Errors) != 0 {
		t.Errorf("got errors %v after the fix, want none", src.Status.Errors)
	}
	if h := src.Status.History[0]; h.Created != 11 || h.Result != ResultReady {
		t.Errorf("got history entry %+v, want Ready with 11 created", h)
	}
	if n := histogramCount(t, e, "navarch_source_commit_to_ready_seconds"); n != 3 {
		t.Errorf("got %d commit-to-ready observations, want 3 (one per revision that became ready)", n)
	}
}

// writesBesidesSources counts the keys written since the etcd revision
// since, other than Sources (whose status the reconciler writes).
func writesBesidesSources(t *testing.T, e *env, since int64) int {
	t.Helper()
	resp, err := e.srv.Store().Client().Get(context.Background(), "/registry/",
		clientv3.WithPrefix(), clientv3.WithMinModRev(since+1), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, kv := range resp.Kvs {
		if kv.ModRevision > since && !strings.HasPrefix(string(kv.Key), "/registry/gitops.navarch.dev/sources/") {
			n++
		}
	}
	return n
}

func TestChangesByHandArePutBackUnlessReconcileIsDisabled(t *testing.T) {
	e := newEnv(t)
	e.actAsDeploymentController()
	ctx := context.Background()
	files := app("navarch.local/hello:v1")
	files["apps/flags.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flags, namespace: shop}\ndata: {beta: \"false\"}\n"
	commit := e.repo.CommitAndPush("Add the shop", files)
	e.createSource("shop", "apps")
	e.waitReady("shop", commit)

	// By hand: delete the Service, scale the Deployment, edit a ConfigMap
	// that asks to be left alone.
	if err := e.kube.CoreV1().Services("shop").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	d, _ := e.kube.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	five := int32(5)
	d.Spec.Replicas = &five
	if _, err := e.kube.AppsV1().Deployments("shop").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	flags := e.configMap("shop", "flags")
	flags.Annotations[gitopsv1alpha1.AnnotationReconcile] = "disabled"
	flags.Data["beta"] = "true"
	if _, err := e.kube.CoreV1().ConfigMaps("shop").Update(ctx, flags, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	e.requestSync("shop")
	e.waitSource("shop", 30*time.Second, "the drift put back", func(s *gitopsv1alpha1.Source) bool {
		_, err := e.kube.CoreV1().Services("shop").Get(ctx, "web", metav1.GetOptions{})
		return err == nil
	})
	d, _ = e.kube.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	if *d.Spec.Replicas != 2 {
		t.Errorf("got %d replicas, want the 2 of the manifest back", *d.Spec.Replicas)
	}
	if got := e.configMap("shop", "flags").Data["beta"]; got != "true" {
		t.Errorf("got beta=%s on the ConfigMap annotated reconcile: disabled, want the hand-made true kept", got)
	}
}

func TestUnchangedRevisionWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.actAsDeploymentController()
	commit := e.repo.CommitAndPush("Add the shop", app("navarch.local/hello:v1"))
	e.createSource("shop", "apps")
	src := e.waitReady("shop", commit)
	before := e.etcdRevision()
	for i := 0; i < 3; i++ {
		e.requestSync("shop")
		token := ""
		src = e.waitSource("shop", 30*time.Second, "the sync request handled", func(s *gitopsv1alpha1.Source) bool {
			token = s.Annotations[gitopsv1alpha1.AnnotationRequestedAt]
			c := findCondition(s, gitopsv1alpha1.ConditionReady)
			return s.Status.LastHandledRequestedAt == token && c != nil && c.Status == metav1.ConditionTrue
		})
	}
	if writes := writesBesidesSources(t, e, before); writes != 0 {
		t.Errorf("got %d object writes for three syncs of an unchanged revision, want 0", writes)
	}
	if len(src.Status.History) != 1 {
		t.Errorf("got %d history entries, want 1", len(src.Status.History))
	}
}

func TestSuspendedSourceIsNotSynced(t *testing.T) {
	e := newEnv(t)
	first := e.repo.CommitAndPush("One", map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: \"1\"}\n"})
	e.createSource("shop", "")
	e.waitReady("shop", first)
	src, _ := e.sources.Get(context.Background(), "navarch-system", "shop")
	src.Spec.Suspend = true
	if _, err := e.sources.Update(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	e.waitSource("shop", 10*time.Second, "suspended", func(s *gitopsv1alpha1.Source) bool {
		c := findCondition(s, gitopsv1alpha1.ConditionReady)
		return c != nil && c.Reason == ReasonSuspended
	})
	e.repo.CommitAndPush("Two", map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: \"2\"}\n"})
	e.requestSync("shop")
	time.Sleep(time.Second)
	if got := e.configMap("default", "a").Data["v"]; got != "1" {
		t.Errorf("got v=%s while suspended, want 1", got)
	}
}

// histogramCount sums the observations of a histogram on the env's
// registry.
func histogramCount(t *testing.T, e *env, name string) uint64 {
	t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}

func TestARevisionAskingForATakenClusterIPOrNodePortAppliesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A Service of no Source holds the address and the port.
	holder := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "holder", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.77",
			Ports: []corev1.ServicePort{{Port: 80, NodePort: 30077}}},
	}
	if _, err := e.kube.CoreV1().Services("default").Create(ctx, holder, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	first := e.repo.CommitAndPush("settings", map[string]string{
		"settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n",
	})
	e.createSource("shop", "")
	e.waitReady("shop", first)

	tests := []struct {
		name, service, wantErr string
	}{
		{"a taken cluster IP", "spec: {clusterIP: 10.96.0.77, ports: [{port: 80}]}",
			`web.yaml: Service default/web: spec.clusterIP: Invalid value: "10.96.0.77": provided IP is already allocated`},
		{"a taken node port", "spec: {type: NodePort, ports: [{port: 80, nodePort: 30077}]}",
			"web.yaml: Service default/web: spec.ports[0].nodePort: Invalid value: 30077: provided port is already allocated"},
	}
	for _, tt := range tests {
		bad := e.repo.CommitAndPush(tt.name, map[string]string{
			"more.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: more}\n",
			"web.yaml":  "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n" + tt.service + "\n",
		})
		e.requestSync("shop")
		src := e.waitSource("shop", 30*time.Second, tt.name+": the revision refused", func(s *gitopsv1alpha1.Source) bool {
			c := findCondition(s, gitopsv1alpha1.ConditionReady)
			return s.Status.LastAttemptedRevision == "main@sha1:"+bad && c != nil && c.Reason == ReasonValidationFailed
		})
		if len(src.Status.Errors) != 1 || src.Status.Errors[0] != tt.wantErr {
			t.Errorf("%s: got errors %q, want [%q]", tt.name, src.Status.Errors, tt.wantErr)
		}
		if e.configMap("default", "more") != nil {
			t.Errorf("%s: the revision's ConfigMap was applied", tt.name)
		}
		if _, err := e.kube.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: got %v reading Service web, want NotFound", tt.name, err)
		}
		if src.Status.LastAppliedRevision != "main@sha1:"+first {
			t.Errorf("%s: got applied revision %s, want %s to stay", tt.name, src.Status.LastAppliedRevision, first)
		}
	}
}
