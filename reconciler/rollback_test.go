package reconciler

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/sources/git"
	"github.com/navarch/navarch/sources/gittest"
)

func TestRollbackCommitsThePreviousTreeAndTheStoreFollows(t *testing.T) {
	e := newEnv(t)
	e.actAsDeploymentController()
	ctx := context.Background()
	good := e.repo.CommitAndPush("Add the shop", app("navarch.local/hello:v1"))
	e.createSource("shop", "apps")
	e.waitReady("shop", good)
	broken := e.repo.CommitAndPush("Roll out v2, drop settings", map[string]string{
		"apps/web/deployment.yaml": app("navarch.local/hello:v2")["apps/web/deployment.yaml"],
	}, "apps/config.yaml")
	e.requestSync("shop")
	src := e.waitReady("shop", broken)

	cache, err := git.New(git.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	commit, target, err := Rollback(ctx, cache, src, git.Credentials{}, RollbackOptions{})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if target != "main@sha1:"+good {
		t.Errorf("got target %s, want the previous applied revision main@sha1:%s", target, good)
	}
	if head := e.repo.BareGit("rev-parse", "main"); head != commit {
		t.Fatalf("got branch main at %s, want the rollback commit %s", head, commit)
	}
	if got, want := e.repo.BareGit("rev-parse", commit+"^{tree}"), e.repo.BareGit("rev-parse", good+"^{tree}"); got != want {
		t.Errorf("got tree %s, want the tree %s of %s", got, want, good)
	}
	if parent := e.repo.BareGit("rev-parse", commit+"^"); parent != broken {
		t.Errorf("got parent %s, want %s", parent, broken)
	}
	if msg := e.repo.BareGit("log", "-1", "--format=%s", commit); msg != "Revert to "+good[:7]+": Add the shop" {
		t.Errorf("got message %q, want %q", msg, "Revert to "+good[:7]+": Add the shop")
	}

	e.requestSync("shop")
	e.waitReady("shop", commit)
	d, err := e.kube.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "navarch.local/hello:v1" {
		t.Errorf("got image %s after the rollback, want navarch.local/hello:v1", img)
	}
	if e.configMap("shop", "settings") == nil {
		t.Errorf("ConfigMap shop/settings missing after the rollback")
	}
}

func TestRollbackOfOneCommitNamesALaterCommitThatTouchedItsFile(t *testing.T) {
	repo := gittest.NewServer(t).NewRepo(t, "shop")
	cm := func(v string) map[string]string {
		return map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {v: \"" + v + "\"}\n"}
	}
	repo.CommitAndPush("one", cm("1"))
	second := repo.CommitAndPush("two", cm("2"))
	third := repo.CommitAndPush("three", cm("3"))
	src := &gitopsv1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "navarch-system"},
		Spec: gitopsv1alpha1.SourceSpec{Git: &gitopsv1alpha1.GitSource{URL: repo.URL, Ref: gitopsv1alpha1.GitRef{Branch: "main"}}}}
	cache, err := git.New(git.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Rollback(context.Background(), cache, src, git.Credentials{}, RollbackOptions{Commit: second})
	var conflict *git.ConflictError
	if !errors.As(err, &conflict) || conflict.File != "cm.yaml" || conflict.Later != third {
		t.Fatalf("got %v, want a conflict naming cm.yaml and commit %s", err, third)
	}
}

func TestRollbackOfADirectorySourceSaysItHasNoHistory(t *testing.T) {
	src := &gitopsv1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Name: "local", Namespace: "navarch-system"},
		Spec: gitopsv1alpha1.SourceSpec{Directory: &gitopsv1alpha1.DirectorySource{Path: "/srv/manifests"}}}
	_, _, err := Rollback(context.Background(), nil, src, git.Credentials{}, RollbackOptions{})
	if !errors.Is(err, ErrNoHistory) || !strings.Contains(err.Error(), "/srv/manifests") {
		t.Errorf("got %v, want ErrNoHistory naming the directory", err)
	}
}
