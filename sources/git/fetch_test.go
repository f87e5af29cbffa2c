package git_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/navarch/navarch/sources/git"
	"github.com/navarch/navarch/sources/gittest"
)

func newCache(t *testing.T) *git.Cache {
	t.Helper()
	c, err := git.New(git.Options{Dir: t.TempDir(), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFetchResolvesBranchTagAndCommit(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	first := repo.CommitAndPush("Add the web deployment", map[string]string{"deploy/web.yaml": "kind: Deployment\n"})
	repo.Git("tag", "-a", "v1.0.0", "-m", "release 1.0.0")
	repo.Git("tag", "light", first)
	second := repo.CommitAndPush("Scale web to 3", map[string]string{"deploy/web.yaml": "kind: Deployment\nreplicas: 3\n"})
	repo.Git("push", "--quiet", "origin", "--tags")

	tests := []struct {
		name       string
		ref        git.Ref
		wantCommit string
		wantRef    string
	}{
		{"the zero ref follows branch main", git.Ref{}, second, "refs/heads/main"},
		{"a branch resolves to its head", git.Ref{Branch: "main"}, second, "refs/heads/main"},
		{"an annotated tag resolves to its commit", git.Ref{Tag: "v1.0.0"}, first, "refs/tags/v1.0.0"},
		{"a lightweight tag resolves to its commit", git.Ref{Tag: "light"}, first, "refs/tags/light"},
		{"an exact commit resolves to itself", git.Ref{Commit: first}, first, first},
		{"a commit wins over a branch", git.Ref{Branch: "main", Commit: first}, first, first},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev, err := newCache(t).Fetch(context.Background(), repo.URL, tt.ref, git.Credentials{})
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			if rev.Commit != tt.wantCommit {
				t.Errorf("got commit %s, want %s", rev.Commit, tt.wantCommit)
			}
			if rev.Ref != tt.wantRef {
				t.Errorf("got ref %s, want %s", rev.Ref, tt.wantRef)
			}
			if rev.Author != "Ada Lovelace <ada@example.com>" {
				t.Errorf("got author %q, want Ada Lovelace <ada@example.com>", rev.Author)
			}
			if rev.Time.IsZero() || rev.URL != repo.URL {
				t.Errorf("got time %v and url %q, want a time and %q", rev.Time, rev.URL, repo.URL)
			}
		})
	}
}

func TestFetchSeesANewCommitOnTheNextFetch(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	repo.CommitAndPush("first", map[string]string{"a.yaml": "a: 1\n"})
	c := newCache(t)
	ctx := context.Background()
	if _, err := c.Fetch(ctx, repo.URL, git.Ref{Branch: "main"}, git.Credentials{}); err != nil {
		t.Fatal(err)
	}
	second := repo.CommitAndPush("second", map[string]string{"a.yaml": "a: 2\n"})

	rev, err := c.Fetch(ctx, repo.URL, git.Ref{Branch: "main"}, git.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if rev.Commit != second || rev.Subject != "second" {
		t.Fatalf("got %s %q, want %s %q", rev.Commit, rev.Subject, second, "second")
	}
	files, err := c.Files(ctx, rev, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["a.yaml"]); got != "a: 2\n" {
		t.Fatalf("got a.yaml %q, want %q", got, "a: 2\n")
	}
}

func TestFetchOfAMissingRefIsErrRefNotFound(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	empty := srv.NewRepo(t, "empty")
	repo.CommitAndPush("first", map[string]string{"a.yaml": "a: 1\n"})

	tests := []struct {
		name string
		url  string
		ref  git.Ref
		want string
	}{
		{"a missing branch", repo.URL, git.Ref{Branch: "nope"}, "nope"},
		{"a missing tag", repo.URL, git.Ref{Tag: "v9"}, "v9"},
		{"a missing commit", repo.URL, git.Ref{Commit: strings.Repeat("ab", 20)}, strings.Repeat("ab", 20)},
		{"any branch of an empty repository", empty.URL, git.Ref{Branch: "main"}, "main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newCache(t).Fetch(context.Background(), tt.url, tt.ref, git.Credentials{})
			if !errors.Is(err, git.ErrRefNotFound) {
				t.Fatalf("got %v, want ErrRefNotFound", err)
			}
			if !strings.Contains(err.Error(), tt.url) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got message %q, want it to name %s and %s", err, tt.url, tt.want)
			}
		})
	}
}

func TestFetchOfAShortCommitIsErrInvalidRef(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	_, err := newCache(t).Fetch(context.Background(), repo.URL, git.Ref{Commit: "abc123"}, git.Credentials{})
	if !errors.Is(err, git.ErrInvalidRef) {
		t.Fatalf("got %v, want ErrInvalidRef", err)
	}
}

func TestFetchAuthenticatesWithTheCredentials(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "private")
	head := repo.CommitAndPush("first", map[string]string{"a.yaml": "a: 1\n"})
	srv.RequireAuth("deploy", "s3cret-token")

	tests := []struct {
		name    string
		creds   git.Credentials
		wantErr error
	}{
		{"the right user and password fetch", git.Credentials{Username: "deploy", Password: "s3cret-token"}, nil},
		{"a wrong password is ErrAuth", git.Credentials{Username: "deploy", Password: "wrong-password"}, git.ErrAuth},
		{"no credentials is ErrAuth", git.Credentials{}, git.ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev, err := newCache(t).Fetch(context.Background(), repo.URL, git.Ref{Branch: "main"}, tt.creds)
			if tt.wantErr == nil {
				if err != nil || rev.Commit != head {
					t.Fatalf("got %s, %v; want %s", rev.Commit, err, head)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), repo.URL) {
				t.Errorf("got message %q, want it to name %s", err, repo.URL)
			}
			if tt.creds.Password != "" && strings.Contains(err.Error(), tt.creds.Password) {
				t.Errorf("got message %q, which reveals the password", err)
			}
		})
	}
}

func TestFetchNeverRevealsAPasswordHeldInTheURL(t *testing.T) {
	srv := gittest.NewServer(t)
	srv.NewRepo(t, "private")
	srv.RequireAuth("deploy", "right")
	url := strings.Replace(srv.URL, "http://", "http://deploy:hunter2-url-secret@", 1) + "/private.git"

	_, err := newCache(t).Fetch(context.Background(), url, git.Ref{Branch: "main"}, git.Credentials{})
	if !errors.Is(err, git.ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), "hunter2-url-secret") {
		t.Fatalf("got message %q, which reveals the password", err)
	}
}

func TestFetchOfAClosedPortIsErrUnreachableQuickly(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	url := "http://" + addr + "/shop.git"

	start := time.Now()
	_, err = newCache(t).Fetch(context.Background(), url, git.Ref{Branch: "main"}, git.Credentials{})
	if !errors.Is(err, git.ErrUnreachable) {
		t.Fatalf("got %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), url) {
		t.Errorf("got message %q, want it to name %s", err, url)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s, want under 2s", d)
	}
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String() + "/shop.git"
}

func TestFetchGivesUpAtTheContextDeadline(t *testing.T) {
	url := silentServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newCache(t).Fetch(ctx, url, git.Ref{}, git.Credentials{})
	if !errors.Is(err, git.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want ErrUnreachable and DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s, want about 300ms", d)
	}
}

func TestFetchCanceledByTheCallerIsNotUnreachable(t *testing.T) {
	url := silentServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := newCache(t).Fetch(ctx, url, git.Ref{}, git.Credentials{})
	if !errors.Is(err, context.Canceled) || errors.Is(err, git.ErrUnreachable) {
		t.Fatalf("got %v, want context.Canceled and not ErrUnreachable", err)
	}
}

func TestFetchOverAFileURL(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "local")
	head := repo.CommitAndPush("first", map[string]string{"deploy/a.yaml": "a: 1\n"})

	c := newCache(t)
	rev, err := c.Fetch(context.Background(), repo.FileURL, git.Ref{Branch: "main"}, git.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if rev.Commit != head {
		t.Fatalf("got %s, want %s", rev.Commit, head)
	}
	files, err := c.Files(context.Background(), rev, "deploy")
	if err != nil || string(files["a.yaml"]) != "a: 1\n" {
		t.Fatalf("got %v, %v; want a.yaml", files, err)
	}
}

func TestFetchOfACachedCommitMakesNoRemoteCall(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	head := repo.CommitAndPush("first", map[string]string{"a.yaml": "a: 1\n"})
	c := newCache(t)
	ctx := context.Background()
	if _, err := c.Fetch(ctx, repo.URL, git.Ref{Commit: head}, git.Credentials{}); err != nil {
		t.Fatal(err)
	}
	before := srv.Requests()
	if _, err := c.Fetch(ctx, repo.URL, git.Ref{Commit: head}, git.Credentials{}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests() - before; got != 0 {
		t.Fatalf("got %d requests for a cached commit, want 0", got)
	}
}

func TestFetchOfATagIsShallowUntilABranchNeedsHistory(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	first := repo.CommitAndPush("first", map[string]string{"a.yaml": "a: 1\n"})
	repo.CommitAndPush("second", map[string]string{"a.yaml": "a: 2\n"})
	repo.Git("tag", "v2")
	repo.Git("push", "--quiet", "origin", "v2")

	c := newCache(t)
	ctx := context.Background()
	if _, err := c.Fetch(ctx, repo.URL, git.Ref{Tag: "v2"}, git.Credentials{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Files(ctx, git.Revision{URL: repo.URL, Commit: first}, ""); !errors.Is(err, git.ErrInvalidRef) {
		t.Fatalf("reading the parent of a shallow tag: got %v, want ErrInvalidRef (not fetched)", err)
	}
	if _, err := c.Fetch(ctx, repo.URL, git.Ref{Branch: "main"}, git.Credentials{}); err != nil {
		t.Fatal(err)
	}
	files, err := c.Files(ctx, git.Revision{URL: repo.URL, Commit: first}, "")
	if err != nil || string(files["a.yaml"]) != "a: 1\n" {
		t.Fatalf("reading the first commit after a branch fetch: got %v, %v; want a.yaml a: 1", files, err)
	}
}

func TestConcurrentFetchesOfOneRepositoryAllSucceed(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	head := repo.CommitAndPush("first", map[string]string{"a.yaml": "a: 1\n"})
	c := newCache(t)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rev, err := c.Fetch(context.Background(), repo.URL, git.Ref{Branch: "main"}, git.Credentials{})
			if err == nil && rev.Commit != head {
				err = errors.New("got commit " + rev.Commit + ", want " + head)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestFetchRefusesInvalidReferenceNames(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	repo.CommitAndPush("first", map[string]string{"a.yaml": "a: 1\n"})
	for _, ref := range []git.Ref{
		{Branch: "main:refs/heads/other"},
		{Branch: "a..b"},
		{Tag: "v1*"},
		{Branch: "ends-with.lock"},
	} {
		_, err := newCache(t).Fetch(context.Background(), repo.URL, ref, git.Credentials{})
		if !errors.Is(err, git.ErrInvalidRef) {
			t.Errorf("%+v: got %v, want ErrInvalidRef", ref, err)
		}
	}
}

func TestFetchOfTheBranchNamedMasterInABareCache(t *testing.T) {
	// A new bare clone's HEAD names refs/heads/master; fetching into that
	// branch must work like any other.
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	repo.Commit("first", map[string]string{"a.yaml": "a: 1\n"})
	repo.Git("push", "--quiet", "origin", "HEAD:master")
	head := repo.Git("rev-parse", "HEAD")
	c := newCache(t)
	for i := 0; i < 2; i++ {
		rev, err := c.Fetch(context.Background(), repo.URL, git.Ref{Branch: "master"}, git.Credentials{})
		if err != nil || rev.Commit != head {
			t.Fatalf("fetch %d: got %s, %v; want %s", i, rev.Commit, err, head)
		}
	}
}

func TestForgetRemovesTheCloneAndTheNextFetchClonesAgain(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	head := repo.CommitAndPush("first", map[string]string{"a.yaml": "a: 1\n"})
	dir := t.TempDir()
	c, err := git.New(git.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Fetch(ctx, repo.URL, git.Ref{}, git.Credentials{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Forget(repo.URL); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("got %d entries in the cache after Forget, want 0", len(entries))
	}
	rev, err := c.Fetch(ctx, repo.URL, git.Ref{}, git.Credentials{})
	if err != nil || rev.Commit != head {
		t.Fatalf("got %s, %v; want %s", rev.Commit, err, head)
	}
}
