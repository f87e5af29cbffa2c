package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGitOpsSourcesComeFromFlagsAndTheConfigFile(t *testing.T) {
	home := isolate(t)
	file := writeFile(t, filepath.Join(t.TempDir(), "config.yaml"), `
gitops:
  sources:
  - name: shop
    git: https://git.example.com/shop.git
    tag: v1.2.0
    path: deploy
    secret: shop-git
    webhook-secret: shop-hook
  - name: local
    namespace: team
    dir: ~/manifests
    interval: 30s
    prune: false
`)
	c, err := Load(flags(t, "--config="+file, "--git=file:///srv/shop.git", "--path=apps"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	g := c.GitOps
	if g.Git != "file:///srv/shop.git" || g.Branch != "main" || g.Path != "apps" || g.Dir != "" {
		t.Errorf("got flags' source %+v, want file:///srv/shop.git on main under apps", g)
	}
	if len(g.Sources) != 2 {
		t.Fatalf("got %d sources, want 2", len(g.Sources))
	}
	if s := g.Sources[0]; s.Tag != "v1.2.0" || s.Secret != "shop-git" || s.WebhookSecret != "shop-hook" || s.Prune != nil {
		t.Errorf("got %+v, want the tag, secrets and no prune setting", s)
	}
	if s := g.Sources[1]; s.Dir != filepath.Join(home, "manifests") || s.Interval != 30*time.Second || s.Prune == nil || *s.Prune {
		t.Errorf("got %+v, want the expanded dir, 30s and prune false", s)
	}
}

func TestGitOpsSettingsAreValidated(t *testing.T) {
	tests := []struct {
		name string
		g    GitOps
		want string
	}{
		{"both git and dir", GitOps{Git: "https://h/r.git", Dir: "/srv"}, "set one, not both"},
		{"a source without name", GitOps{Sources: []SourceConfig{{Git: "https://h/r.git"}}}, "gitops.sources[0].name: required"},
		{"a source with git and dir", GitOps{Sources: []SourceConfig{{Name: "a", Git: "https://h/r.git", Dir: "/srv"}}}, "exactly one of git and dir"},
		{"a source with two refs", GitOps{Sources: []SourceConfig{{Name: "a", Git: "https://h/r.git", Branch: "main", Tag: "v1"}}}, "at most one of branch, tag and commit"},
		{"a source declared twice", GitOps{Sources: []SourceConfig{{Name: "a", Dir: "/srv"}, {Name: "a", Dir: "/srv"}}}, "declared twice"},
	}
	for _, tt := range tests {
		err := tt.g.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
