package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/proctest"
)

// stamp is what must survive a restart for one object.
type stamp struct {
	uid             types.UID
	resourceVersion string
}

// TestRestartKeepsEveryObject stops `navarch server` with SIGTERM and
// starts it again on the same data dir.
func TestRestartKeepsEveryObject(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	first := startServer(t, dataDir)
	for _, want := range []string{"export KUBECONFIG=" + first.kubeconfig, "navarch --data-dir " + dataDir + " get namespaces"} {
		if out := first.log(); !strings.Contains(out, want) {
			t.Errorf("server output does not say %q:\n%s", want, out)
		}
	}
	created := createObjects(ctx, t, first.clientset(t))
	// The server's controllers write the Deployment's status after its
	// creation: what must survive is the state at the stop, once they are
	// done with it.
	waitSettled(t, first.clientset(t), "default", "web")
	before := readObjects(ctx, t, first.clientset(t))
	for key, c := range created {
		if b, ok := before[key]; !ok || b.uid != c.uid {
			t.Fatalf("%s: got %+v before the stop, want the object created (%+v)", key, b, c)
		}
	}
	firstConfig := first.restConfig(t)

	if code := first.stop(t); code != 0 {
		t.Fatalf("got exit %d after SIGTERM, want 0\n%s", code, first.log())
	}

	second := startServer(t, dataDir)
	secondConfig := second.restConfig(t)
	if secondConfig.BearerToken != firstConfig.BearerToken || string(secondConfig.CAData) != string(firstConfig.CAData) {
		t.Errorf("the admin token or the CA changed across a restart")
	}
	after := readObjects(ctx, t, second.clientset(t))
	for key, want := range before {
		got, ok := after[key]
		switch {
		case !ok:
			t.Errorf("%s: gone after restart", key)
		case got != want:
			t.Errorf("%s: got uid %s rv %s, want uid %s rv %s", key, got.uid, got.resourceVersion, want.uid, want.resourceVersion)
		}
	}
	if len(after) != len(before) {
		t.Errorf("got %d objects after restart, want %d: %v", len(after), len(before), after)
	}

	cm, err := second.clientset(t).CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create after restart: %v", err)
	}
	if rvAfter, rvBefore := atoi(t, cm.ResourceVersion), maxRV(t, before); rvAfter <= rvBefore {
		t.Errorf("a write after restart got resourceVersion %d, want more than %d", rvAfter, rvBefore)
	}
}

// waitSettled waits until the Deployment's controller has observed its
// generation and its resourceVersion has not moved for a second.
func waitSettled(t *testing.T, c kubernetes.Interface, ns, name string) {
	t.Helper()
	last, since := "", time.Now()
	waitUntil(t, 30*time.Second, "deployment "+name+" settled", func() bool {
		d, err := c.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || d.Status.ObservedGeneration != d.Generation {
			return false
		}
		if d.ResourceVersion != last {
			last, since = d.ResourceVersion, time.Now()
		}
		return time.Since(since) >= time.Second
	})
}

// createObjects makes a namespace, a config map (updated once), a secret
// and a deployment, and returns their stamps by kind/namespace/name.
func createObjects(ctx context.Context, t *testing.T, c kubernetes.Interface) map[string]stamp {
	t.Helper()
	out := map[string]stamp{}
	record := func(kind string, m metav1.Object) {
		out[kind+"/"+m.GetNamespace()+"/"+m.GetName()] = stamp{m.GetUID(), m.GetResourceVersion()}
	}
	ns, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	record("namespace", ns)
	cm, err := c.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data:       map[string]string{"mode": "a"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create config map: %v", err)
	}
	cm.Data["mode"] = "b"
	if cm, err = c.CoreV1().ConfigMaps("shop").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update config map: %v", err)
	}
	record("configmap", cm)
	sec, err := c.CoreV1().Secrets("shop").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "token"},
		StringData: map[string]string{"token": "s3cret"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create secret: %v", err)
	}
	record("secret", sec)
	labels := map[string]string{"app": "web"}
	d, err := c.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.com/web:1.0"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	record("deployment", d)
	return out
}

// readObjects reads back the objects createObjects made (and any others of
// the same kinds in their namespaces, which must not exist).
func readObjects(ctx context.Context, t *testing.T, c kubernetes.Interface) map[string]stamp {
	t.Helper()
	out := map[string]stamp{}
	record := func(kind string, m metav1.Object) {
		out[kind+"/"+m.GetNamespace()+"/"+m.GetName()] = stamp{m.GetUID(), m.GetResourceVersion()}
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get namespace: %v", err)
	}
	record("namespace", ns)
	cms, err := c.CoreV1().ConfigMaps("shop").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list config maps: %v", err)
	}
	for i := range cms.Items {
		if cms.Items[i].Data["mode"] != "b" {
			t.Errorf("config map %s: got data %v, want the updated mode b", cms.Items[i].Name, cms.Items[i].Data)
		}
		record("configmap", &cms.Items[i])
	}
	secs, err := c.CoreV1().Secrets("shop").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list secrets: %v", err)
	}
	for i := range secs.Items {
		if string(secs.Items[i].Data["token"]) != "s3cret" {
			t.Errorf("secret %s: got data %q, want the stored token", secs.Items[i].Name, secs.Items[i].Data["token"])
		}
		record("secret", &secs.Items[i])
	}
	ds, err := c.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list deployments: %v", err)
	}
	for i := range ds.Items {
		record("deployment", &ds.Items[i])
	}
	return out
}

func maxRV(t *testing.T, stamps map[string]stamp) int64 {
	var m int64
	for _, s := range stamps {
		m = max(m, atoi(t, s.resourceVersion))
	}
	return m
}

// TestUpRunsTheControlPlaneAndStopsOnSIGTERM starts `navarch up`, uses its
// API through the written kubeconfig and stops it.
func TestUpRunsTheControlPlaneAndStopsOnSIGTERM(t *testing.T) {
	// The Service proxy would change the host; proxy_test.go runs it. The
	// node gets a name, bridge, ports and pod network of its own.
	b := make([]byte, 3)
	rand.Read(b)
	suffix := hex.EncodeToString(b)
	dataDir, bridge := t.TempDir(), "nvu"+suffix
	t.Cleanup(func() { removeNodeLeftovers(t, dataDir, bridge) })
	up := startRole(t, "up", dataDir, "--disable-proxy", "--node-name", "up-"+suffix, "--bridge", bridge,
		"--cluster-cidr", containerdtest.ClusterCIDR(t),
		"--kubelet-port", strconv.Itoa(proctest.FreePort(t)), "--read-only-port", strconv.Itoa(proctest.FreePort(t)))
	if _, err := up.clientset(t).CoreV1().Namespaces().Get(context.Background(), "navarch-system", metav1.GetOptions{}); err != nil {
		t.Errorf("get namespace navarch-system: %v", err)
	}
	if code := up.stop(t); code != 0 {
		t.Errorf("got exit %d after SIGTERM, want 0\n%s", code, up.log())
	}
}
