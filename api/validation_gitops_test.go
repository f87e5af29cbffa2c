package api

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

func validSource() *gitopsv1alpha1.Source {
	s := &gitopsv1alpha1.Source{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "navarch-system"},
		Spec: gitopsv1alpha1.SourceSpec{
			Git:  &gitopsv1alpha1.GitSource{URL: "https://git.example.com/shop.git", SecretRef: &gitopsv1alpha1.LocalObjectReference{Name: "shop-git"}},
			Path: "deploy/", Prune: true,
			Webhook: &gitopsv1alpha1.WebhookSpec{SecretRef: gitopsv1alpha1.LocalObjectReference{Name: "shop-hook"}},
		},
	}
	Default(s)
	return s
}

func TestValidateSource(t *testing.T) {
	git := func(s *gitopsv1alpha1.Source) *gitopsv1alpha1.GitSource { return s.Spec.Git }
	runValidationCases(t, validSource, []validationCase[*gitopsv1alpha1.Source]{
		{name: "a git source is valid"},
		{name: "a directory source is valid", mutate: func(s *gitopsv1alpha1.Source) {
			s.Spec.Git, s.Spec.Directory = nil, &gitopsv1alpha1.DirectorySource{Path: "/srv/manifests"}
		}},
		{name: "a source follows git or a directory", mutate: func(s *gitopsv1alpha1.Source) { s.Spec.Git = nil },
			want: []string{"spec: Required value: must specify one of: `git` or `directory`"}},
		{name: "a source follows not both", mutate: func(s *gitopsv1alpha1.Source) {
			s.Spec.Directory = &gitopsv1alpha1.DirectorySource{Path: "/srv"}
		}, want: []string{"spec.directory: Forbidden: may not be specified when `git` is specified"}},
		{name: "a git url is required", mutate: func(s *gitopsv1alpha1.Source) { git(s).URL = "" },
			want: []string{"spec.git.url: Required value"}},
		{name: "a git url has a supported scheme", mutate: func(s *gitopsv1alpha1.Source) { git(s).URL = "ftp://example.com/shop.git" },
			want: []string{`spec.git.url: Invalid value: "ftp://example.com/shop.git": must be an https://, http://, ssh:// or file:// URL, or user@host:path`}},
		{name: "a git url never shows a password", mutate: func(s *gitopsv1alpha1.Source) { git(s).URL = "https://bob:hunter2@example.com" },
			want: []string{`spec.git.url: Invalid value: "https://bob:xxxxx@example.com": must name a repository path`}},
		{name: "a commit is a full SHA", mutate: func(s *gitopsv1alpha1.Source) { git(s).Ref.Commit = "abc123" },
			want: []string{`spec.git.ref.commit: Invalid value: "abc123": must be a full commit SHA`}},
		{name: "a branch is a valid ref name", mutate: func(s *gitopsv1alpha1.Source) { git(s).Ref.Branch = "feature..x" },
			want: []string{`spec.git.ref.branch: Invalid value: "feature..x": must be a valid Git branch name`}},
		{name: "a tag is a valid ref name", mutate: func(s *gitopsv1alpha1.Source) { git(s).Ref.Tag = "v1 final" },
			want: []string{`spec.git.ref.tag: Invalid value: "v1 final": must be a valid Git tag name`}},
		{name: "a secretRef names a secret", mutate: func(s *gitopsv1alpha1.Source) { git(s).SecretRef.Name = "" },
			want: []string{"spec.git.secretRef.name: Required value"}},
		{name: "a directory path is absolute", mutate: func(s *gitopsv1alpha1.Source) {
			s.Spec.Git, s.Spec.Directory = nil, &gitopsv1alpha1.DirectorySource{Path: "srv"}
		}, want: []string{`spec.directory.path: Invalid value: "srv": must be an absolute path`}},
		{name: "the path is relative", mutate: func(s *gitopsv1alpha1.Source) { s.Spec.Path = "/deploy" },
			want: []string{`spec.path: Invalid value: "/deploy": must be a relative path`}},
		{name: "the path stays inside the source", mutate: func(s *gitopsv1alpha1.Source) { s.Spec.Path = "deploy/../../etc" },
			want: []string{`spec.path: Invalid value: "deploy/../../etc": must not contain '..'`}},
		{name: "the interval is at least a second", mutate: func(s *gitopsv1alpha1.Source) { s.Spec.Interval.Duration = 500 * time.Millisecond },
			want: []string{`spec.interval: Invalid value: "500ms": must be at least 1s`}},
		{name: "the timeout is positive", mutate: func(s *gitopsv1alpha1.Source) { s.Spec.Timeout.Duration = -time.Second },
			want: []string{`spec.timeout: Invalid value: "-1s": must be greater than 0`}},
		{name: "the target namespace is a namespace name", mutate: func(s *gitopsv1alpha1.Source) { s.Spec.TargetNamespace = "Shop" },
			want: []string{`spec.targetNamespace: Invalid value: "Shop": a lowercase RFC 1123 label`}},
		{name: "a webhook names its secret", mutate: func(s *gitopsv1alpha1.Source) { s.Spec.Webhook.SecretRef.Name = "" },
			want: []string{"spec.webhook.secretRef.name: Required value"}},
		{name: "a custom kind may use any qualified finalizer", mutate: func(s *gitopsv1alpha1.Source) { s.Finalizers = []string{"gitops.navarch.dev/prune"} }},
	})
}

func TestGitURLForms(t *testing.T) {
	tests := []struct {
		url   string
		valid bool
	}{
		{"https://github.com/navarch/shop.git", true},
		{"http://127.0.0.1:8080/shop.git", true},
		{"ssh://git@git.example.com:2222/shop.git", true},
		{"git@github.com:navarch/shop.git", true},
		{"file:///srv/git/shop.git", true},
		{"file://localhost/srv/git/shop.git", true},
		{"file://otherhost/srv/shop.git", false},
		{"file://relative/path", false},
		{"https://github.com", false},
		{"github.com/navarch/shop", false},
		{"git@github.com", false},
		{"s3://bucket/repo", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := gitURLProblem(tt.url) == ""; got != tt.valid {
				t.Errorf("got valid=%v (%q), want %v", got, gitURLProblem(tt.url), tt.valid)
			}
		})
	}
}
