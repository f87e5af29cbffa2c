package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/sources/gittest"
)

// settings is a manifest of one ConfigMap saying v.
func settings(v string) map[string]string {
	return map[string]string{
		"apps/settings.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  v: \"" + v + "\"\n",
		"README.md":          "# shop\n",
	}
}

func TestGitOpsVerbsSyncDiffHistoryAndRollBack(t *testing.T) {
	ctx := context.Background()
	repo := gittest.NewServer(t).NewRepo(t, "shop")
	first := repo.CommitAndPush("First settings", settings("1"))
	p := startRole(t, "server", t.TempDir(), "--git="+repo.URL, "--branch=main", "--path=apps")
	waitReconciling(t, p)
	env := []string{"KUBECONFIG=" + p.kubeconfig}
	navarch := func(args ...string) cliResult {
		t.Helper()
		r := runNavarch(t, "", env, args...)
		if r.code != 0 {
			t.Fatalf("navarch %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}
	settingsValue := func() string {
		t.Helper()
		cm, err := p.clientset(t).CoreV1().ConfigMaps("default").Get(ctx, "settings", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("ConfigMap settings: %v", err)
		}
		return cm.Data["v"]
	}

	// The Source --git created is named after the repository.
	r := navarch("sync", "shop", "--wait", "--timeout=1m")
	if !strings.Contains(r.stdout, "ready (Succeeded): revision main@sha1:"+first) {
		t.Errorf("sync --wait printed\n%s\nwant it to end Ready at %s", r.stdout, first)
	}
	if v := settingsValue(); v != "1" {
		t.Errorf("got v=%s, want 1", v)
	}
	if r := navarch("get", "sources", "-n", "navarch-system"); !strings.Contains(r.stdout, "shop") || !strings.Contains(r.stdout, "True") {
		t.Errorf("get sources printed\n%s\nwant shop Ready", r.stdout)
	}

	// diff shows what the next sync changes, before it runs.
	second := repo.CommitAndPush("Second settings", settings("2"))
	r = navarch("diff", "shop")
	if !strings.Contains(r.stdout, "-  v: \"1\"") || !strings.Contains(r.stdout, "+  v: \"2\"") || !strings.Contains(r.stdout, "b/ConfigMap/default/settings") {
		t.Errorf("diff printed\n%s\nwant the change of v from 1 to 2 in ConfigMap default/settings", r.stdout)
	}
	if v := settingsValue(); v != "1" {
		t.Errorf("diff changed the cluster: got v=%s, want 1", v)
	}
	r = navarch("sync", "navarch-system/shop", "--wait", "--timeout=1m")
	if !strings.Contains(r.stdout, "applied main@sha1:"+second+": 0 created, 1 updated, 0 pruned") {
		t.Errorf("sync --wait printed\n%s\nwant the objects applied", r.stdout)
	}
	if r := navarch("diff", "shop"); !strings.Contains(r.stdout, "No changes") {
		t.Errorf("diff after the sync printed\n%s\nwant no changes", r.stdout)
	}

	r = navarch("history", "shop")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "REVISION") ||
		!strings.Contains(lines[1], "Second settings") || !strings.Contains(lines[1], "Ready") || !strings.Contains(lines[1], "+0 ~1 -0") ||
		!strings.Contains(lines[2], "First settings") {
		t.Errorf("history printed\n%s\nwant a header and the two revisions, newest first", r.stdout)
	}

	// rollback commits the previous revision's tree and syncs it.
	r = navarch("rollback", "shop", "--wait", "--timeout=1m")
	head := repo.BareGit("rev-parse", "main")
	if !strings.Contains(r.stdout, "pushed "+head+", restoring main@sha1:"+first) || !strings.Contains(r.stdout, "ready (Succeeded): revision main@sha1:"+head) {
		t.Errorf("rollback printed\n%s\nwant the pushed commit %s restoring %s, then Ready", r.stdout, head, first)
	}
	if got, want := repo.BareGit("rev-parse", head+"^{tree}"), repo.BareGit("rev-parse", first+"^{tree}"); got != want {
		t.Errorf("got tree %s at the rollback commit, want %s of the first commit", got, want)
	}
	if v := settingsValue(); v != "1" {
		t.Errorf("got v=%s after the rollback, want 1", v)
	}

	// The API server's /metrics shows the reconciler's histogram.
	cfg := p.restConfig(t)
	body, err := p.clientset(t).Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", cfg.Host, err)
	}
	if !strings.Contains(string(body), `navarch_source_commit_to_ready_seconds_count{source="navarch-system/shop"} 3`) {
		t.Errorf("/metrics has no commit-to-ready count of 3 for the Source")
	}

	// The webhook receiver is mounted: a delivery without a signature is
	// refused (an unmounted path would be 404).
	var code int
	p.clientset(t).Discovery().RESTClient().Post().AbsPath("/webhooks/navarch-system/shop").Body([]byte("{}")).Do(ctx).StatusCode(&code)
	if code != http.StatusUnauthorized {
		t.Errorf("got %d for an unsigned webhook, want 401", code)
	}

	// diff reports an invalid revision as the reconciler would, and
	// nothing else.
	repo.Git("pull", "--quiet", "origin", "main") // the rollback commit
	repo.CommitAndPush("A bad name", map[string]string{
		"apps/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n",
	})
	r = runNavarch(t, "", env, "diff", "shop")
	if r.code == 0 || r.stdout != "" || !strings.Contains(r.stderr, "revision is invalid, nothing was applied: 1 problem: bad.yaml: ConfigMap default/Bad_Name: metadata.name: Invalid value") {
		t.Errorf("diff of an invalid revision: exit %d\nstdout %q\nstderr %q\nwant a failure naming bad.yaml, the object and the field", r.code, r.stdout, r.stderr)
	}
}

func TestServerWithDirFollowsTheDirectory(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "manifests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(v string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "settings.yaml"), []byte(settings(v)["apps/settings.yaml"]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1")
	p := startRole(t, "server", t.TempDir(), "--dir="+dir)
	waitReconciling(t, p)
	waitValue := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		got := ""
		for time.Now().Before(deadline) {
			cm, err := p.clientset(t).CoreV1().ConfigMaps("default").Get(ctx, "settings", metav1.GetOptions{})
			if err == nil {
				if got = cm.Data["v"]; got == want {
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("got v=%q, want %q\n%s", got, want, p.log())
	}
	waitValue("1")
	write("2") // no sync request: the file event is enough
	waitValue("2")
	r := runNavarch(t, "", []string{"KUBECONFIG=" + p.kubeconfig}, "rollback", "manifests")
	if r.code == 0 || !strings.Contains(r.stderr, "a directory source has no history") {
		t.Errorf("rollback of a directory Source: exit %d, stderr %q; want a refusal saying it has no history", r.code, r.stderr)
	}
}
