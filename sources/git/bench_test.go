package git_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/navarch/navarch/sources/git"
	"github.com/navarch/navarch/sources/gittest"
)

// manifests returns n small Deployment manifests in 10 folders.
func manifests(n int) map[string]string {
	files := make(map[string]string, n)
	for i := 0; i < n; i++ {
		files[fmt.Sprintf("deploy/app%d/deploy-%d.yaml", i%10, i)] = fmt.Sprintf(
			"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-%d\nspec:\n  replicas: 1\n", i)
	}
	return files
}

func benchRepo(b *testing.B) *gittest.Repo {
	b.Helper()
	srv := gittest.NewServer(b)
	repo := srv.NewRepo(b, "bench")
	repo.CommitAndPush("1000 manifests", manifests(1000))
	return repo
}

func BenchmarkCloneOf1000Manifests(b *testing.B) {
	repo := benchRepo(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		c, err := git.New(git.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Fetch(ctx, repo.URL, git.Ref{Branch: "main"}, git.Credentials{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFetchOfAnUpToDateBranch(b *testing.B) {
	repo := benchRepo(b)
	c, err := git.New(git.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Fetch(ctx, repo.URL, git.Ref{Branch: "main"}, git.Credentials{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Fetch(ctx, repo.URL, git.Ref{Branch: "main"}, git.Credentials{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFilesOf1000Manifests(b *testing.B) {
	repo := benchRepo(b)
	c, err := git.New(git.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rev, err := c.Fetch(ctx, repo.URL, git.Ref{Branch: "main"}, git.Credentials{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		files, err := c.Files(ctx, rev, "deploy")
		if err != nil || len(files) != 1000 {
			b.Fatalf("got %d files, %v; want 1000", len(files), err)
		}
	}
}
