package git_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/navarch/navarch/sources/git"
	"github.com/navarch/navarch/sources/gittest"
)

// shopHistory pushes two commits and returns their SHAs:
// first has deploy/{web,api}.yaml and README.md; second changes
// deploy/web.yaml and README.md and adds deploy/db.yaml.
func shopHistory(t *testing.T, repo *gittest.Repo) (first, second string) {
	t.Helper()
	first = repo.CommitAndPush("Deploy web and api", map[string]string{
		"deploy/web.yaml": "replicas: 1\n",
		"deploy/api.yaml": "replicas: 1\n",
		"README.md":       "v1\n",
	})
	second = repo.CommitAndPush("Scale web, add db", map[string]string{
		"deploy/web.yaml": "replicas: 5\n",
		"deploy/db.yaml":  "replicas: 1\n",
		"README.md":       "v2\n",
	})
	return first, second
}

func TestRevertToARevisionRestoresThePathAndKeepsTheRest(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	first, second := shopHistory(t, repo)
	c := newCache(t)

	got, err := c.Revert(context.Background(), repo.URL, "main", git.Credentials{}, git.RevertOptions{
		Path: "deploy/", To: first, Author: git.Author{Name: "Grace Hopper", Email: "grace@example.com"},
	})
	if err != nil {
		t.Fatalf("revert: %v", err)
	}
	if head := repo.BareGit("rev-parse", "main"); head != got {
		t.Fatalf("got remote main %s, want the revert commit %s", head, got)
	}
	checks := []struct{ name, got, want string }{
		{"deploy/ tree", repo.BareGit("rev-parse", got+":deploy"), repo.BareGit("rev-parse", first+":deploy")},
		{"README.md outside the path", repo.BareGit("rev-parse", got+":README.md"), repo.BareGit("rev-parse", second+":README.md")},
		{"parent", repo.BareGit("rev-parse", got+"^"), second},
		{"subject", repo.BareGit("log", "-1", "--format=%s", got), "Revert to " + first[:7] + ": Deploy web and api"},
		{"author", repo.BareGit("log", "-1", "--format=%an <%ae>", got), "Grace Hopper <grace@example.com>"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if out := repo.BareGit("fsck", "--no-progress"); strings.Contains(out, "error") {
		t.Errorf("git fsck: %s", out)
	}

	rev, err := c.Fetch(context.Background(), repo.URL, git.Ref{Branch: "main"}, git.Credentials{})
	if err != nil || rev.Commit != got {
		t.Fatalf("fetch after revert: got %s, %v; want %s", rev.Commit, err, got)
	}
}

func TestRevertOfTheWholeRepositoryRestoresTheWholeTree(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	first, _ := shopHistory(t, repo)

	got, err := newCache(t).Revert(context.Background(), repo.URL, "main", git.Credentials{}, git.RevertOptions{To: first[:10]})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := repo.BareGit("rev-parse", got+"^{tree}"), repo.BareGit("rev-parse", first+"^{tree}"); g != w {
		t.Fatalf("got tree %s, want %s", g, w)
	}
}

func TestRevertToARevisionWithoutThePathRemovesIt(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	first := repo.CommitAndPush("Readme only", map[string]string{"README.md": "v1\n"})
	repo.CommitAndPush("Add manifests", map[string]string{"deploy/web.yaml": "replicas: 1\n"})

	got, err := newCache(t).Revert(context.Background(), repo.URL, "main", git.Credentials{}, git.RevertOptions{Path: "deploy", To: first})
	if err != nil {
		t.Fatal(err)
	}
	if out := repo.BareGit("ls-tree", "--name-only", got); out != "README.md" {
		t.Fatalf("got tree listing %q, want only README.md", out)
	}
}

func TestRevertToTheCurrentContentIsErrNothingToRevert(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	first := repo.CommitAndPush("Deploy", map[string]string{"deploy/web.yaml": "replicas: 1\n"})
	repo.CommitAndPush("Docs", map[string]string{"README.md": "v2\n"})

	_, err := newCache(t).Revert(context.Background(), repo.URL, "main", git.Credentials{}, git.RevertOptions{Path: "deploy", To: first})
	if !errors.Is(err, git.ErrNothingToRevert) {
		t.Fatalf("got %v, want ErrNothingToRevert", err)
	}
}

func TestRevertOfAnUnknownRevisionIsErrRefNotFound(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	shopHistory(t, repo)
	_, err := newCache(t).Revert(context.Background(), repo.URL, "main", git.Credentials{}, git.RevertOptions{To: strings.Repeat("1", 40)})
	if !errors.Is(err, git.ErrRefNotFound) {
		t.Fatalf("got %v, want ErrRefNotFound", err)
	}
}

func TestRevertOfASingleCommitUndoesOnlyItsFiles(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	first := repo.CommitAndPush("Deploy", map[string]string{"deploy/a.yaml": "a: 1\n", "deploy/b.yaml": "b: 1\n"})
	bad := repo.CommitAndPush("Break a, add c", map[string]string{"deploy/a.yaml": "a: broken\n", "deploy/c.yaml": "c: 1\n"})
	later := repo.CommitAndPush("Tune b", map[string]string{"deploy/b.yaml": "b: 2\n"})

	got, err := newCache(t).Revert(context.Background(), repo.URL, "main", git.Credentials{}, git.RevertOptions{Path: "deploy", Commit: bad})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"a.yaml back to before the commit", repo.BareGit("rev-parse", got+":deploy/a.yaml"), repo.BareGit("rev-parse", first+":deploy/a.yaml")},
		{"b.yaml as the later commit left it", repo.BareGit("rev-parse", got+":deploy/b.yaml"), repo.BareGit("rev-parse", later+":deploy/b.yaml")},
		{"c.yaml added by the commit is gone", repo.BareGit("ls-tree", "--name-only", got, "deploy/c.yaml"), ""},
		{"subject", repo.BareGit("log", "-1", "--format=%s", got), `Revert "Break a, add c"`},
		{"parent", repo.BareGit("rev-parse", got+"^"), later},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %q, want %q", ch.name, ch.got, ch.want)
		}
	}
}

func TestRevertOfASingleCommitFailsWhenALaterCommitTouchedItsFile(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	repo.CommitAndPush("Deploy", map[string]string{"deploy/a.yaml": "a: 1\n", "deploy/b.yaml": "b: 1\n"})
	bad := repo.CommitAndPush("Change a", map[string]string{"deploy/a.yaml": "a: 2\n"})
	later := repo.CommitAndPush("Change a again", map[string]string{"deploy/a.yaml": "a: 3\n"})
	repo.CommitAndPush("Change b", map[string]string{"deploy/b.yaml": "b: 2\n"})
	before := repo.BareGit("rev-parse", "main")

	_, err := newCache(t).Revert(context.Background(), repo.URL, "main", git.Credentials{}, git.RevertOptions{Path: "deploy", Commit: bad})
	if !errors.Is(err, git.ErrRevertConflict) {
		t.Fatalf("got %v, want ErrRevertConflict", err)
	}
	var conflict *git.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("got %T, want *ConflictError", err)
	}
	if conflict.File != "deploy/a.yaml" || conflict.Later != later {
		t.Errorf("got file %s and later commit %s, want deploy/a.yaml and %s", conflict.File, conflict.Later, later)
	}
	for _, want := range []string{"deploy/a.yaml", later[:7], "Change a again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got message %q, want it to name %s", err, want)
		}
	}
	if after := repo.BareGit("rev-parse", "main"); after != before {
		t.Errorf("got remote main %s after a failed revert, want it unchanged at %s", after, before)
	}
}

func TestRevertRetriesOnceWhenTheBranchMovesDuringThePush(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	first, _ := shopHistory(t, repo)
	var competing string
	srv.BeforeNextPush(func() {
		// Lands on the bare repository directly, between the revert's
		// fetch and its push.
		competing = repo.CommitAndPush("Concurrent docs change", map[string]string{"README.md": "v3\n"})
	})

	got, err := newCache(t).Revert(context.Background(), repo.URL, "main", git.Credentials{}, git.RevertOptions{Path: "deploy", To: first})
	if err != nil {
		t.Fatalf("revert: %v", err)
	}
	if competing == "" {
		t.Fatal("the competing push never ran")
	}
	if parent := repo.BareGit("rev-parse", got+"^"); parent != competing {
		t.Errorf("got parent %s, want the competing commit %s", parent, competing)
	}
	if g, w := repo.BareGit("rev-parse", got+":deploy"), repo.BareGit("rev-parse", first+":deploy"); g != w {
		t.Errorf("got deploy tree %s, want %s", g, w)
	}
	if readme := repo.BareGit("show", got+":README.md"); readme != "v3" {
		t.Errorf("got README.md %q, want the competing commit's v3", readme)
	}
}

func TestRevertPushesWithTheCredentials(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	first, _ := shopHistory(t, repo)
	srv.RequireAuth("deploy", "push-token")

	c := newCache(t)
	_, err := c.Revert(context.Background(), repo.URL, "main", git.Credentials{Username: "deploy", Password: "wrong"}, git.RevertOptions{To: first})
	if !errors.Is(err, git.ErrAuth) {
		t.Fatalf("with a wrong password: got %v, want ErrAuth", err)
	}
	got, err := c.Revert(context.Background(), repo.URL, "main", git.Credentials{Username: "deploy", Password: "push-token"}, git.RevertOptions{To: first})
	if err != nil {
		t.Fatalf("with the right password: %v", err)
	}
	if head := repo.BareGit("rev-parse", "main"); head != got {
		t.Fatalf("got remote main %s, want %s", head, got)
	}
}

func TestRevertUsesTheCacheClock(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	first, _ := shopHistory(t, repo)
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c, err := git.New(git.Options{Dir: t.TempDir(), Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Revert(context.Background(), repo.URL, "main", git.Credentials{}, git.RevertOptions{To: first})
	if err != nil {
		t.Fatal(err)
	}
	if when := repo.BareGit("log", "-1", "--format=%ct", got); when != "1893553445" {
		t.Fatalf("got committer time %s, want 1893553445", when)
	}
}

func TestRevertOptionsNeedExactlyOneTarget(t *testing.T) {
	tests := []struct {
		name string
		opts git.RevertOptions
	}{
		{"neither", git.RevertOptions{}},
		{"both", git.RevertOptions{To: "abc", Commit: strings.Repeat("a", 40)}},
		{"a short single commit", git.RevertOptions{Commit: "abc"}},
		{"a path leaving the repository", git.RevertOptions{To: "abc", Path: "../x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.opts.Validate(); !errors.Is(err, git.ErrInvalidRef) {
				t.Fatalf("got %v, want ErrInvalidRef", err)
			}
		})
	}
}
