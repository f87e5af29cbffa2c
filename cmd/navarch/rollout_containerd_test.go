package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/navarch/navarch/internal/containerdtest"
	"github.com/navarch/navarch/internal/testimage"
)

// TestARollingUpdateOnRealContainers rolls a 3-replica Deployment from
// one image to another on a node of real containers (`navarch agent` with
// its containerd, runc and CNI) joined to `navarch server`: the watch of
// its pods never sees more than 4 pods nor fewer than 3 ready ones
// (maxSurge 1, maxUnavailable 0), and every pod at the end answers with
// the new version.
func TestARollingUpdateOnRealContainers(t *testing.T) {
	containerdtest.Require(t, "containerd", "runc")
	_, cs, agent := startJoinedNode(t, "roll1")
	agentDir := agent.dataDir
	for _, v := range []string{"v1", "v2"} {
		archive := filepath.Join(t.TempDir(), v+".tar")
		ref := "navarch.test/testapp:" + v
		if err := os.WriteFile(archive, testimage.Archive(t, ref, testimage.Image(t, v)), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := runNavarch(t, "", nil, "image", "import", "--data-dir", agentDir, archive); r.code != 0 {
			t.Fatalf("image import %s: exit %d\n%s%s", ref, r.code, r.stdout, r.stderr)
		}
	}

	ctx := context.Background()
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, realDeployment(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, cs, "navarch.test/testapp:v1", agent.Log)
	watcher := watchBounds(t, cs, "app=real", 4, 3)
	start := time.Now()
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"navarch.test/testapp:v2"}]}}}}`
	if _, err := cs.AppsV1().Deployments("default").Patch(ctx, "real", "application/strategic-merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, cs, "navarch.test/testapp:v2", agent.Log)
	t.Logf("rolled 3 real pods to a new image in %s", time.Since(start).Round(time.Millisecond))
	for _, v := range watcher.stop() {
		t.Error(v)
	}
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=real"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		if got := httpBody(t, "http://"+p.Status.PodIP+":8080/version"); got != "v2" {
			t.Errorf("pod %s answers version %q, want v2", p.Name, got)
		}
	}
}

func realDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": "real"}
	replicas := int32(3)
	surge, unavailable := intstr.FromInt32(1), intstr.FromInt32(0)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "real", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptrInt64(2),
					Containers: []corev1.Container{{
						Name: "app", Image: "navarch.test/testapp:v1", ImagePullPolicy: corev1.PullNever,
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
}

func ptrInt64(v int64) *int64 { return &v }

// waitRolledOut waits until the Deployment runs 3 ready, updated pods of
// image.
func waitRolledOut(t *testing.T, cs kubernetes.Interface, image string, agentLog func() string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := cs.AppsV1().Deployments("default").Get(context.Background(), "real", metav1.GetOptions{})
		if err == nil && d.Spec.Template.Spec.Containers[0].Image == image && d.Status.ObservedGeneration == d.Generation &&
			d.Status.UpdatedReplicas == 3 && d.Status.Replicas == 3 && d.Status.AvailableReplicas == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment not rolled out to %s within 2 minutes (status %+v, %v)\nagent log:\n%s", image, d.Status, err, agentLog())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// boundsWatch checks, at every pod event, at most maxTotal pods not being
// deleted and at least minReady ready ones.
type boundsWatch struct {
	cancel     context.CancelFunc
	done       chan struct{}
	mu         sync.Mutex
	violations []string
}

func watchBounds(t *testing.T, cs kubernetes.Interface, selector string, maxTotal, minReady int) *boundsWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	bw := &boundsWatch{cancel: cancel, done: make(chan struct{})}
	pods := map[string]*corev1.Pod{}
	for i := range list.Items {
		pods[list.Items[i].Name] = &list.Items[i]
	}
	go func() {
		defer close(bw.done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(pods, p.Name)
			} else {
				pods[p.Name] = p
			}
			total, readyPods := 0, 0
			for _, p := range pods {
				if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
					continue
				}
				total++
				for _, c := range p.Status.Conditions {
					if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
						readyPods++
					}
				}
			}
			bw.mu.Lock()
			if total > maxTotal {
				bw.violations = append(bw.violations, fmt.Sprintf("%d pods, want at most %d", total, maxTotal))
			}
			if readyPods < minReady {
				bw.violations = append(bw.violations, fmt.Sprintf("%d ready pods, want at least %d", readyPods, minReady))
			}
			bw.mu.Unlock()
		}
	}()
	return bw
}

func (bw *boundsWatch) stop() []string {
	bw.cancel()
	<-bw.done
	bw.mu.Lock()
	defer bw.mu.Unlock()
	return bw.violations
}

// httpBody GETs url, retrying for 5 s, and returns the trimmed body.
func httpBody(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 2 * time.Second}
	var last error
	for i := 0; i < 50; i++ {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return strings.TrimSpace(string(b))
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}
