package git_test

import (
	"context"
	"errors"
	"testing"

	"github.com/navarch/navarch/sources/git"
	"github.com/navarch/navarch/sources/gittest"
)

func TestFetchAndRevertOverSSH(t *testing.T) {
	srv := gittest.NewServer(t)
	sshd := srv.ServeSSH(t)
	repo := srv.NewRepo(t, "navarch/shop")
	first := repo.CommitAndPush("Deploy", map[string]string{"deploy/a.yaml": "a: 1\n"})
	head := repo.CommitAndPush("Change", map[string]string{"deploy/a.yaml": "a: 2\n"})
	creds := git.Credentials{SSHPrivateKey: sshd.ClientKey, KnownHosts: sshd.KnownHosts}
	otherKey, _ := gittest.NewKey(t)
	strangerSrv := gittest.NewServer(t).ServeSSH(t) // another host key

	urls := map[string]string{
		"ssh://":            "ssh://git@127.0.0.1:" + sshd.Port + "/navarch/shop.git",
		"scp-like git@host": "git@127.0.0.1:" + sshd.Port + ":navarch/shop.git",
	}
	for name, url := range urls {
		t.Run("fetch over "+name, func(t *testing.T) {
			rev, err := newCache(t).Fetch(context.Background(), url, git.Ref{Branch: "main"}, creds)
			if err != nil || rev.Commit != head {
				t.Fatalf("got %s, %v; want %s", rev.Commit, err, head)
			}
		})
	}
	url := urls["ssh://"]

	tests := []struct {
		name  string
		creds git.Credentials
	}{
		{"a key the server does not know", git.Credentials{SSHPrivateKey: otherKey, KnownHosts: sshd.KnownHosts}},
		{"known_hosts with another host key", git.Credentials{SSHPrivateKey: sshd.ClientKey, KnownHosts: strangerSrv.KnownHosts}},
		{"no known_hosts", git.Credentials{SSHPrivateKey: sshd.ClientKey}},
		{"no key", git.Credentials{KnownHosts: sshd.KnownHosts}},
	}
	for _, tt := range tests {
		t.Run("fetch with "+tt.name+" is ErrAuth", func(t *testing.T) {
			_, err := newCache(t).Fetch(context.Background(), url, git.Ref{Branch: "main"}, tt.creds)
			if !errors.Is(err, git.ErrAuth) {
				t.Fatalf("got %v, want ErrAuth", err)
			}
			t.Log(err)
		})
	}

	t.Run("revert pushes over ssh", func(t *testing.T) {
		got, err := newCache(t).Revert(context.Background(), url, "main", creds, git.RevertOptions{Path: "deploy", To: first})
		if err != nil {
			t.Fatal(err)
		}
		if g, w := repo.BareGit("rev-parse", got+":deploy"), repo.BareGit("rev-parse", first+":deploy"); g != w {
			t.Fatalf("got deploy tree %s, want %s", g, w)
		}
	})
}
