package api

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// Defaults of a Source.
const (
	// DefaultSourceInterval is how often a Source is polled when its spec
	// does not say.
	DefaultSourceInterval = time.Minute
	// DefaultSourceTimeout bounds every remote call of a Source when its
	// spec does not say.
	DefaultSourceTimeout = 60 * time.Second
	// DefaultGitBranch is the branch a Git source follows when its ref names
	// no branch, tag or commit.
	DefaultGitBranch = "main"
)

func defaultSource(s *gitopsv1alpha1.Source) {
	if s.Spec.Interval.Duration == 0 {
		s.Spec.Interval = metav1.Duration{Duration: DefaultSourceInterval}
	}
	if s.Spec.Timeout == nil {
		s.Spec.Timeout = &metav1.Duration{Duration: DefaultSourceTimeout}
	}
	if g := s.Spec.Git; g != nil && g.Ref.Branch == "" && g.Ref.Tag == "" && g.Ref.Commit == "" {
		g.Ref.Branch = DefaultGitBranch
	}
}
