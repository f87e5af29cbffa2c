package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// TestGitOpsStory walks the README's path as a new user would: the
// quickstart, a release by commit, a release that cannot start and its
// rollback, an invalid manifest, and a second node taking half the pods.
// Each step needs the one before it; the first failure ends the test.
func TestGitOpsStory(t *testing.T) {
	s := &story{w: newWorld(t)}
	began := time.Now()
	// The steps share the cluster, so they are not subtests: a subtest's
	// end would stop the processes it started.
	for _, step := range []struct {
		name string
		run  func()
	}{
		{"the quickstart serves v1 from a Git repository", s.quickstart},
		{"a commit of a new image tag rolls the Deployments over", s.release},
		{"a release that cannot start stalls, keeps v2 serving, and is rolled back", s.brokenRelease},
		{"an invalid manifest changes nothing and the Source says why", s.invalidManifest},
		{"a second node joins and the Service balances over six pods on both", s.secondNode},
	} {
		t.Logf("=== %s", step.name)
		start := time.Now()
		step.run()
		if t.Failed() {
			t.FailNow()
		}
		t.Logf("=== %s: done in %s", step.name, time.Since(start).Round(100*time.Millisecond))
	}
	t.Logf("the whole story took %s", time.Since(began).Round(100*time.Millisecond))
}

// story is what the steps of TestGitOpsStory share.
type story struct {
	w     *world
	c     *cluster
	repo  *clone // the user's clone of the quickstart's repository
	webIP string // the web Service's cluster IP
	v2    string // the v2 release commit
}

// quickstart: `make run`'s script brings the application up from Git.
func (s *story) quickstart() {
	w, t := s.w, s.w.t
	s.c = w.quickstart()
	src, err := s.c.source(sourceName)
	if err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(src.Status.Conditions, gitopsv1alpha1.ConditionReady) {
		t.Fatalf("got Source %s, want Ready", describeSource(src))
	}
	s.webIP = strings.TrimSpace(s.c.must("get", "service", "web", "-n", appNamespace, "-o", "jsonpath={.spec.clusterIP}"))
	// Nothing is sent to the Service unless its address stays on this
	// machine: the proxy makes the Service range a local route.
	w.eventually(30*time.Second, "a local route to the web Service's cluster IP "+s.webIP, func() (bool, string) {
		return w.localRoute(s.webIP)
	})
	w.eventuallyServes(s.webIP, "v1")
	s.repo = w.clone("file://" + s.c.repo)
}

// release: a commit of the v2 tag, pushed, rolls both Deployments over.
func (s *story) release() {
	w, t, c, repo := s.w, s.w.t, s.c, s.repo
	watch := c.watchPods(t, appNamespace, webSelector)
	for _, f := range []string{"apps/web/deployment.yaml", "apps/api/deployment.yaml"} {
		repo.replace(f, imageV1, imageV2)
	}
	sha, push := repo.commitAndPush("Release v2")
	s.v2 = sha
	if !strings.Contains(push, "navarch: sync of refs/heads/main requested") {
		t.Errorf("git push: got %q, want the post-receive hook to report the webhook accepted", push)
	}
	c.waitSourceReady(sha, 2*time.Minute)
	w.eventually(30*time.Second, "the watch to see the update finish", func() (bool, string) {
		r := watch.rolloutFrom(imageV1, imageV2)
		return r.finished, r.String()
	})
	r := watch.rolloutFrom(imageV1, imageV2)
	t.Logf("rollout seen through navarch get pods -w: %s", r)
	if !r.overlap {
		t.Errorf("got no moment with Ready pods of both versions (%s), want a rolling update", r)
	}
	// 2 replicas, maxSurge 25% → 1, maxUnavailable 25% → 0.
	if r.minReady < 2 {
		t.Errorf("got %d Ready pods at the worst moment of the update, want at least 2", r.minReady)
	}
	w.eventuallyServes(s.webIP, "v2")
}

// brokenRelease: a release whose image cannot start stalls without
// touching v2's pods, and navarch rollback brings v2 back by a commit.
func (s *story) brokenRelease() {
	w, t, c, repo := s.w, s.w.t, s.c, s.repo
	for _, f := range []string{"apps/web/deployment.yaml", "apps/api/deployment.yaml"} {
		repo.replace(f, imageV2, imageBroken)
	}
	broken, _ := repo.commitAndPush("Release broken")
	w.eventually(2*time.Minute, "the Source to report the stalled rollout", func() (bool, string) {
		src, err := c.source(sourceName)
		if err != nil {
			return false, err.Error()
		}
		ready := meta.FindStatusCondition(src.Status.Conditions, gitopsv1alpha1.ConditionReady)
		return strings.Contains(src.Status.LastAttemptedRevision, broken) && ready != nil &&
			ready.Status == "False" && strings.Contains(ready.Message, "progress deadline exceeded"), describeSource(src)
	})
	t.Logf("navarch get sources:\n%s", c.must("get", "sources", "-n", "navarch-system"))
	pods, err := c.pods(appNamespace, webSelector)
	if err != nil {
		t.Fatal(err)
	}
	if !anyPod(pods, func(p *corev1.Pod) bool {
		return imageOf(p) == imageBroken && (waitingReason(p) == "CrashLoopBackOff" || restarts(p) > 0)
	}) {
		t.Errorf("got pods\n  %s\nwant a broken pod crashing", describePods(pods))
	}
	if a := w.sample(s.webIP, 30); !a.onlyVersion("v2") {
		t.Errorf("during the stalled rollout: got %s, want every answer from v2", a)
	}

	out := c.must("rollback", sourceName)
	m := regexp.MustCompile(`pushed ([0-9a-f]{40})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("navarch rollback: got %q, want it to name the commit it pushed", out)
	}
	revert := m[1]
	if head := repo.remoteHead(); head != revert {
		t.Errorf("remote main: got %s, want the revert commit %s", head, revert)
	}
	repo.pull()
	if subject := w.git(repo.dir, "log", "-1", "--format=%s"); !strings.HasPrefix(subject, "Revert to ") {
		t.Errorf("revert commit subject: got %q, want \"Revert to …\"", subject)
	}
	if diff := w.git(repo.dir, "diff", s.v2, "HEAD", "--", "apps"); diff != "" {
		t.Errorf("the revert's apps/ differs from v2's:\n%s", diff)
	}
	c.waitSourceReady(revert, 2*time.Minute)
	w.eventually(time.Minute, "the broken pods to go", func() (bool, string) {
		pods, err := c.pods(appNamespace, webSelector)
		if err != nil {
			return false, err.Error()
		}
		return !anyPod(pods, func(p *corev1.Pod) bool { return imageOf(p) == imageBroken }), describePods(pods)
	})
	w.eventuallyServes(s.webIP, "v2")
}

// invalidManifest: a commit with one invalid object among valid changes
// is refused whole, with the reason in the Source's status.
func (s *story) invalidManifest() {
	w, t, c, repo := s.w, s.w.t, s.c, s.repo
	before, err := c.deployment(appNamespace, "web")
	if err != nil {
		t.Fatal(err)
	}
	repo.replace("apps/web/deployment.yaml", "replicas: 2", "replicas: 3")
	repo.write("apps/api/admin-service.yaml", `apiVersion: v1
kind: Service
metadata:
  name: api-admin
  namespace: hello
spec:
  selector: {app.kubernetes.io/name: api}
  ports:
  - {name: admin, port: 70000, targetPort: 8081}
`)
	bad, _ := repo.commitAndPush("Scale web to 3 and add an admin port")
	var src *gitopsv1alpha1.Source
	w.eventually(time.Minute, "the Source to refuse the revision", func() (bool, string) {
		src, err = c.source(sourceName)
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(src.Status.LastAttemptedRevision, bad) && len(src.Status.Errors) > 0, describeSource(src)
	})
	// Files are named relative to the Source's path, apps/.
	if !strings.Contains(strings.Join(src.Status.Errors, "\n"), "api/admin-service.yaml: Service hello/api-admin: spec.ports[0].port") {
		t.Errorf("got errors %q, want them to name api/admin-service.yaml, the object and the field", src.Status.Errors)
	}
	table := c.must("get", "sources", "-n", "navarch-system")
	t.Logf("navarch get sources:\n%s", table)
	if !strings.Contains(table, "admin-service.yaml") {
		t.Errorf("navarch get sources: got\n%s\nwant the message to name the invalid file", table)
	}
	after, err := c.deployment(appNamespace, "web")
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != before.Generation || *after.Spec.Replicas != 2 {
		t.Errorf("web: got generation %d with %d replicas, want generation %d with 2 (nothing applied)",
			after.Generation, *after.Spec.Replicas, before.Generation)
	}
	if _, err := c.try("get", "service", "api-admin", "-n", appNamespace); err == nil {
		t.Error("the invalid revision's Service api-admin exists, want nothing applied")
	}
	w.git(repo.dir, "revert", "--no-edit", "HEAD")
	w.git(repo.dir, "push", "-q", "origin", "HEAD:main")
	c.waitSourceReady(w.git(repo.dir, "rev-parse", "HEAD"), time.Minute)
}

// secondNode: an agent joins, the Deployment scales to 6 by a commit, and
// the Service balances over the pods of both nodes.
func (s *story) secondNode() {
	w, t, c, repo := s.w, s.w.t, s.c, s.repo
	second := c.joinNode("b")
	repo.replace("apps/web/deployment.yaml", "replicas: 2", "replicas: 6")
	sha, _ := repo.commitAndPush("Scale web to 6")
	c.waitSourceReady(sha, 2*time.Minute)
	pods, err := c.pods(appNamespace, webSelector)
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]int{}
	for i := range pods {
		if podReady(&pods[i]) {
			nodes[pods[i].Spec.NodeName]++
		}
	}
	if len(nodes) != 2 || nodes[second] == 0 {
		t.Errorf("got Ready web pods per node %v, want pods on both nodes (the second is %s):\n  %s", nodes, second, describePods(pods))
	}
	var a answers
	w.eventually(time.Minute, "every web pod to answer through the Service", func() (bool, string) {
		a = w.sample(s.webIP, 300)
		return a.failures == 0 && len(a.pods) == 6, a.String()
	})
	for pod, n := range a.pods {
		if n < 15 {
			t.Errorf("pod %s answered %d of 300 requests, want at least 15 (5%%): %s", pod, n, a)
		}
	}
	t.Logf("300 requests over the Service: %v", a.pods)
}

// waitSourceReady waits until the Source has applied sha and is Ready.
func (c *cluster) waitSourceReady(sha string, timeout time.Duration) {
	c.w.t.Helper()
	c.w.eventually(timeout, fmt.Sprintf("Source %s Ready at %.12s", sourceName, sha), func() (bool, string) {
		src, err := c.source(sourceName)
		if err != nil {
			return false, err.Error()
		}
		return sourceReadyAt(src, sha), describeSource(src)
	})
}

// eventuallyServes waits until 20 requests in a row to the Service at ip
// are all answered by version v.
func (w *world) eventuallyServes(ip, v string) {
	w.t.Helper()
	w.eventually(time.Minute, "the web Service to answer "+v+" only", func() (bool, string) {
		a := w.sample(ip, 20)
		return a.onlyVersion(v), a.String()
	})
}

// joinNode starts `navarch agent` as a second node on this machine, with
// its own name, data dir, bridge and ports, joining with a token from
// `navarch token create`, waits until its Node is Ready, and imports the
// example images into its containerd (there is no registry). It returns
// the node's name.
func (c *cluster) joinNode(label string) string {
	w := c.w
	w.t.Helper()
	name := w.name(label)
	token := strings.TrimSpace(c.stdout("token", "create", "--node", name))
	dataDir := filepath.Join(w.dir, "agent-"+label)
	args := []string{w.bin, "agent", "--data-dir=" + dataDir,
		fmt.Sprintf("--server=https://127.0.0.1:%d", c.apiPort), "--token=" + token,
		"--ca-file=" + filepath.Join(c.dataDir, "pki", "ca.crt")}
	args = append(args, w.nodeFlags(label)...)
	w.start("agent-"+label, w.env("NAVARCH_DATA_DIR="+dataDir), args...)
	w.eventually(time.Minute, "node "+name+" to be Ready", func() (bool, string) {
		var n corev1.Node
		if err := c.getJSON(&n, "node", name); err != nil {
			return false, err.Error()
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue, cond.Reason + ": " + cond.Message
			}
		}
		return false, "no Ready condition"
	})
	tars, err := filepath.Glob(filepath.Join(c.dataDir, "quickstart", "images", "hello-*.tar"))
	if err != nil || len(tars) == 0 {
		w.t.Fatalf("no example images in the quickstart's folder (%v)", err)
	}
	cli{w: w, dataDir: dataDir}.must(append([]string{"image", "import"}, tars...)...)
	return name
}

func anyPod(pods []corev1.Pod, fn func(*corev1.Pod) bool) bool {
	for i := range pods {
		if fn(&pods[i]) {
			return true
		}
	}
	return false
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}
