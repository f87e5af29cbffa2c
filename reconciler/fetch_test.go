package reconciler

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// closedURL is a Git URL on a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/shop.git"
}

func TestAFailedFetchSaysWhyAndTheAppliedRevisionKeepsRunning(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const wrongPassword = "wrong-password-5e1f"
	if _, err := e.kube.CoreV1().Secrets("navarch-system").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "wrong-login"},
		Data:       map[string][]byte{"username": []byte("deploy"), "password": []byte(wrongPassword)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := func(v string) map[string]string {
		return map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept}\ndata: {v: \"" + v + "\"}\n"}
	}
	first := e.repo.CommitAndPush("v1", cm("v1"))
	good := e.createSource("shop", "").Spec
	e.waitReady("shop", first)
	applied := "main@sha1:" + first

	tests := []struct {
		name   string
		reason string
		break_ func(*gitopsv1alpha1.SourceSpec)
		server func(requireAuth bool) // what the Git server asks for meanwhile
	}{
		{name: "an unreachable remote", reason: "Unreachable",
			break_: func(s *gitopsv1alpha1.SourceSpec) { s.Git.URL = closedURL(t) }},
		{name: "a missing branch", reason: "NotFound",
			break_: func(s *gitopsv1alpha1.SourceSpec) { s.Git.Ref.Branch = "no-such-branch" }},
		{name: "a missing Secret", reason: "SecretNotFound",
			break_: func(s *gitopsv1alpha1.SourceSpec) {
				s.Git.SecretRef = &gitopsv1alpha1.LocalObjectReference{Name: "absent"}
			}},
		{name: "a refused login", reason: "AuthenticationFailed",
			break_: func(s *gitopsv1alpha1.SourceSpec) {
				s.Git.SecretRef = &gitopsv1alpha1.LocalObjectReference{Name: "wrong-login"}
			},
			server: func(on bool) {
				if on {
					e.git.RequireAuth("deploy", "the-right-password")
				} else {
					e.git.RequireAuth("", "")
				}
			}},
	}
	for _, tt := range tests {
		if tt.server != nil {
			tt.server(true)
		}
		// A new spec is fetched at once, whatever it changed.
		e.setSpec("shop", func(s *gitopsv1alpha1.SourceSpec) { *s = *good.DeepCopy(); tt.break_(s) })
		src := e.waitSource("shop", 30*time.Second, tt.name+": Ready=False "+tt.reason, func(s *gitopsv1alpha1.Source) bool {
			c := findCondition(s, gitopsv1alpha1.ConditionReady)
			return c != nil && c.Status == metav1.ConditionFalse && c.Reason == tt.reason
		})
		// A look at the workloads meanwhile does not hide the failure.
		e.pokeThroughAWorkload("shop")
		time.Sleep(300 * time.Millisecond)
		src = e.waitSource("shop", time.Second, tt.name+": still Ready=False "+tt.reason, func(s *gitopsv1alpha1.Source) bool {
			c := findCondition(s, gitopsv1alpha1.ConditionReady)
			return c != nil && c.Status == metav1.ConditionFalse && c.Reason == tt.reason
		})
		ready := findCondition(src, gitopsv1alpha1.ConditionReady)
		if !strings.Contains(ready.Message, "revision "+applied+" stays applied") {
			t.Errorf("%s: got Ready message %q, want it to say %s stays applied", tt.name, ready.Message, applied)
		}
		if strings.Contains(ready.Message, wrongPassword) {
			t.Errorf("%s: got Ready message %q, which reveals the Secret's password", tt.name, ready.Message)
		}
		if src.Status.LastAppliedRevision != applied {
			t.Errorf("%s: got applied revision %q, want %q", tt.name, src.Status.LastAppliedRevision, applied)
		}
		if got := e.configMap("default", "kept"); got == nil || got.Data["v"] != "v1" {
			t.Errorf("%s: got ConfigMap %v, want the applied revision's, v=v1", tt.name, got)
		}
		if tt.server != nil {
			tt.server(false)
		}
		e.setSpec("shop", func(s *gitopsv1alpha1.SourceSpec) { *s = *good.DeepCopy() })
		e.waitReady("shop", first)
	}

	// With the remote back, the next commit applies.
	second := e.repo.CommitAndPush("v2", cm("v2"))
	e.requestSync("shop")
	e.waitReady("shop", second)
	if got := e.configMap("default", "kept"); got == nil || got.Data["v"] != "v2" {
		t.Errorf("got ConfigMap %v after the remote came back, want v=v2", got)
	}
}

// pokeThroughAWorkload makes the reconciler look at the Source again
// without a reason to fetch: a change to a Deployment carrying the
// Source's ownership marks, created first when missing. (The Source's next
// sync prunes it.)
func (e *env) pokeThroughAWorkload(source string) {
	e.t.Helper()
	ctx := context.Background()
	key := SourceKey("navarch-system", source)
	deployments := e.kube.AppsV1().Deployments("default")
	d, err := deployments.Get(ctx, "poke", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		labels := map[string]string{"app": "poke"}
		d = &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "poke",
				Labels:      map[string]string{gitopsv1alpha1.LabelSource: sourceLabelValue(key)},
				Annotations: map[string]string{gitopsv1alpha1.AnnotationSource: key}},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "navarch.local/poke:v1"}}},
				},
			},
		}
		if d, err = deployments.Create(ctx, d, metav1.CreateOptions{}); err != nil {
			e.t.Fatalf("create the Deployment poke: %v", err)
		}
	} else if err != nil {
		e.t.Fatal(err)
	}
	d.Annotations["poked"] = time.Now().String()
	if _, err := deployments.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("update the Deployment poke: %v", err)
	}
}
