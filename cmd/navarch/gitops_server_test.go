package main

import (
	"testing"
	"time"

	"github.com/navarch/navarch/config"
)

func TestSourcesFromFlagsAreNamedAfterTheRepositoryOrFolder(t *testing.T) {
	tests := []struct{ git, dir, want string }{
		{"https://git.example.com/org/shop.git", "", "shop"},
		{"https://git.example.com/org/Shop_Front/", "", "shop-front"},
		{"git@github.com:org/my.app.git", "", "my-app"},
		{"file:///srv/repos/hello.git", "", "hello"},
		{"", "/home/ada/manifests", "manifests"},
		{"", "/", "default"},
	}
	for _, tt := range tests {
		if got := sourceName(tt.git, tt.dir); got != tt.want {
			t.Errorf("sourceName(%q, %q) = %q, want %q", tt.git, tt.dir, got, tt.want)
		}
	}
}

func TestConfiguredSourcesFollowTheGitOpsSection(t *testing.T) {
	no := false
	srcs := configuredSources(config.GitOps{
		Git: "https://git.example.com/shop.git", Branch: "release", Path: "deploy",
		Sources: []config.SourceConfig{
			{Name: "pinned", Namespace: "team", Git: "https://git.example.com/lib.git", Tag: "v1.2.0", Secret: "lib-git", WebhookSecret: "lib-hook"},
			{Name: "local", Dir: "/srv/manifests", Interval: 30 * time.Second, Prune: &no, TargetNamespace: "apps"},
		},
	})
	if len(srcs) != 3 {
		t.Fatalf("got %d sources, want 3", len(srcs))
	}
	shop := srcs[0]
	if shop.Name != "shop" || shop.Namespace != "navarch-system" || shop.Spec.Git.Ref.Branch != "release" || shop.Spec.Path != "deploy" || !shop.Spec.Prune {
		t.Errorf("got %s/%s %+v, want navarch-system/shop on release under deploy, pruning", shop.Namespace, shop.Name, shop.Spec)
	}
	pinned := srcs[1]
	if pinned.Namespace != "team" || pinned.Spec.Git.Ref.Tag != "v1.2.0" || pinned.Spec.Git.SecretRef.Name != "lib-git" || pinned.Spec.Webhook.SecretRef.Name != "lib-hook" {
		t.Errorf("got %+v, want the tag and both secrets", pinned.Spec)
	}
	local := srcs[2]
	if local.Spec.Directory.Path != "/srv/manifests" || local.Spec.Interval.Duration != 30*time.Second || local.Spec.Prune || local.Spec.TargetNamespace != "apps" {
		t.Errorf("got %+v, want the directory, 30s, no prune and target namespace apps", local.Spec)
	}
}
