package git_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/navarch/navarch/sources/git"
	"github.com/navarch/navarch/sources/gittest"
)

func TestFilesReadsTheTreeUnderAPath(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	repo.CommitAndPush("Deploy", map[string]string{
		"deploy/web/deployment.yaml": "kind: Deployment\n",
		"deploy/ns.yaml":             "kind: Namespace\n",
		"README.md":                  "docs\n",
	})
	c := newCache(t)
	ctx := context.Background()
	rev, err := c.Fetch(ctx, repo.URL, git.Ref{}, git.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	deploy := map[string][]byte{"web/deployment.yaml": []byte("kind: Deployment\n"), "ns.yaml": []byte("kind: Namespace\n")}
	tests := []struct {
		path string
		want map[string][]byte
	}{
		{"deploy", deploy},
		{"./deploy/", deploy},
		{"/deploy", deploy},
		{"deploy/web", map[string][]byte{"deployment.yaml": []byte("kind: Deployment\n")}},
		{"", map[string][]byte{
			"deploy/web/deployment.yaml": []byte("kind: Deployment\n"),
			"deploy/ns.yaml":             []byte("kind: Namespace\n"),
			"README.md":                  []byte("docs\n"),
		}},
	}
	for _, tt := range tests {
		t.Run("path "+tt.path, func(t *testing.T) {
			got, err := c.Files(ctx, rev, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFilesRefusesBadPaths(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	repo.CommitAndPush("Deploy", map[string]string{"deploy/a.yaml": "a: 1\n"})
	c := newCache(t)
	rev, err := c.Fetch(context.Background(), repo.URL, git.Ref{}, git.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want error
	}{
		{"missing", git.ErrPathNotFound},
		{"deploy/a.yaml", git.ErrPathNotFound},
		{"../etc", git.ErrInvalidRef},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := c.Files(context.Background(), rev, tt.path)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFilesFollowsSymlinksInsideThePathAndRefusesOthers(t *testing.T) {
	srv := gittest.NewServer(t)
	repo := srv.NewRepo(t, "shop")
	repo.Commit("Deploy", map[string]string{"deploy/base.yaml": "kind: ConfigMap\n", "secret.txt": "s3cret\n"})
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(repo.Work, name)); err != nil {
			t.Fatal(err)
		}
	}
	link("base.yaml", "deploy/alias.yaml")
	inside := repo.CommitAndPush("Link inside", nil)
	link("../secret.txt", "deploy/leak.yaml")
	outside := repo.CommitAndPush("Link outside", nil)

	c := newCache(t)
	ctx := context.Background()
	if _, err := c.Fetch(ctx, repo.URL, git.Ref{}, git.Credentials{}); err != nil {
		t.Fatal(err)
	}
	files, err := c.Files(ctx, git.Revision{URL: repo.URL, Commit: inside}, "deploy")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["alias.yaml"]); got != "kind: ConfigMap\n" {
		t.Errorf("got alias.yaml %q, want the content of base.yaml", got)
	}
	_, err = c.Files(ctx, git.Revision{URL: repo.URL, Commit: outside}, "deploy")
	if !errors.Is(err, git.ErrSymlinkOutside) {
		t.Fatalf("got %v, want ErrSymlinkOutside", err)
	}
	if !strings.Contains(err.Error(), "leak.yaml") {
		t.Errorf("got message %q, want it to name leak.yaml", err)
	}
}
