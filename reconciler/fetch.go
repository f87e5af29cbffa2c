package reconciler

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/sources/dir"
	"github.com/navarch/navarch/sources/git"
)

// Artifact is one fetched revision of a Source: its name, where it comes
// from and the files under spec.path.
type Artifact struct {
	// Revision names it in status and history: "<branch>@sha1:<commit>",
	// "<tag>@sha1:<commit>" or "sha1:<commit>" for Git, the content hash
	// "sha256:<hex>" for a directory.
	Revision string
	// Commit is the Git commit SHA ("" for a directory).
	Commit string
	// Subject and Author of the commit ("" for a directory).
	Subject, Author string
	// Time is the commit's committer time, or the directory's newest
	// modification time.
	Time time.Time
	// Files under spec.path, by slash-separated path relative to it.
	Files map[string][]byte
	// fetchSpec is what the artifact was fetched for (URL, ref, path).
	fetchSpec string
}

// Sentinel errors of fetching, besides those of sources/git and
// sources/dir, tested with errors.Is.
var (
	// ErrSecret: a Secret the Source names is missing or lacks a key.
	ErrSecret = errors.New("secret unusable")
	// ErrNoHistory: a directory Source was asked for a rollback.
	ErrNoHistory = errors.New("a directory source has no history")
)

// fetchSpec says what of spec decides an artifact.
func fetchSpec(src *gitopsv1alpha1.Source) string {
	switch {
	case src.Spec.Git != nil:
		g := src.Spec.Git
		return fmt.Sprintf("git %s %s %s %s %s", g.URL, g.Ref.Branch, g.Ref.Tag, g.Ref.Commit, src.Spec.Path)
	case src.Spec.Directory != nil:
		return fmt.Sprintf("dir %s %s", src.Spec.Directory.Path, src.Spec.Path)
	}
	return ""
}

// GitRef is the sources/git reference a Git Source follows.
func GitRef(g *gitopsv1alpha1.GitSource) git.Ref {
	return git.Ref{Branch: g.Ref.Branch, Tag: g.Ref.Tag, Commit: g.Ref.Commit}
}

// branchOf is the branch a Git Source follows when it names neither a tag
// nor a commit: spec.git.ref.branch, else git.DefaultBranch.
func branchOf(g *gitopsv1alpha1.GitSource) string {
	if g.Ref.Branch != "" {
		return g.Ref.Branch
	}
	return git.DefaultBranch
}

// Credentials reads the Secret spec.git.secretRef names, in the Source's
// namespace; no secretRef means anonymous. A missing Secret wraps
// ErrSecret.
func Credentials(ctx context.Context, cs kubernetes.Interface, src *gitopsv1alpha1.Source) (git.Credentials, error) {
	if src.Spec.Git == nil || src.Spec.Git.SecretRef == nil {
		return git.Credentials{}, nil
	}
	name := src.Spec.Git.SecretRef.Name
	sec, err := cs.CoreV1().Secrets(src.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return git.Credentials{}, fmt.Errorf("%w: Secret %s/%s (spec.git.secretRef) not found", ErrSecret, src.Namespace, name)
	}
	if err != nil {
		return git.Credentials{}, fmt.Errorf("read Secret %s/%s: %w", src.Namespace, name, err)
	}
	return git.CredentialsFromSecretData(sec.Data), nil
}

// Fetch fetches the newest revision of src: the commit its Git reference
// names (with cache and creds), or a snapshot of its directory. prev, when
// it holds the same commit for the same spec, is returned without reading
// the files again. The context bounds the remote call; spec.timeout is
// the caller's to apply. Errors are those of sources/git and sources/dir.
func Fetch(ctx context.Context, cache *git.Cache, src *gitopsv1alpha1.Source, creds git.Credentials, prev *Artifact) (*Artifact, error) {
	spec := fetchSpec(src)
	switch {
	case src.Spec.Git != nil:
		g := src.Spec.Git
		rev, err := cache.Fetch(ctx, g.URL, GitRef(g), creds)
		if err != nil {
			return nil, err
		}
		if prev != nil && prev.fetchSpec == spec && prev.Commit == rev.Commit {
			return prev, nil
		}
		files, err := cache.Files(ctx, rev, src.Spec.Path)
		if err != nil {
			return nil, err
		}
		return &Artifact{
			Revision: gitRevision(g, rev.Commit), Commit: rev.Commit, Subject: rev.Subject, Author: rev.Author,
			Time: rev.Time, Files: files, fetchSpec: spec,
		}, nil
	case src.Spec.Directory != nil:
		rev, files, err := dir.Snapshot(src.Spec.Directory.Path, filepath.FromSlash(src.Spec.Path))
		if err != nil {
			return nil, err
		}
		if prev != nil && prev.fetchSpec == spec && prev.Revision == rev.ID {
			return prev, nil
		}
		return &Artifact{Revision: rev.ID, Time: rev.Time, Files: files, fetchSpec: spec}, nil
	}
	return nil, errors.New("source has neither spec.git nor spec.directory")
}

// gitRevision names a commit as status shows it.
func gitRevision(g *gitopsv1alpha1.GitSource, commit string) string {
	switch {
	case g.Ref.Commit != "":
		return "sha1:" + commit
	case g.Ref.Tag != "":
		return g.Ref.Tag + "@sha1:" + commit
	}
	return branchOf(g) + "@sha1:" + commit
}

// CommitOf returns the commit SHA (or its abbreviation) a revision string
// names: "main@sha1:abc…" → "abc…"; a bare SHA is returned as it is.
func CommitOf(revision string) string {
	if i := strings.LastIndex(revision, "sha1:"); i >= 0 {
		return revision[i+len("sha1:"):]
	}
	if i := strings.LastIndex(revision, "@"); i >= 0 {
		return revision[i+1:]
	}
	return revision
}

// fetchReason is the Ready condition's reason for a fetch error.
func fetchReason(err error) string {
	switch {
	case errors.Is(err, git.ErrAuth):
		return "AuthenticationFailed"
	case errors.Is(err, ErrSecret):
		return "SecretNotFound"
	case errors.Is(err, git.ErrRefNotFound), errors.Is(err, git.ErrRepositoryNotFound),
		errors.Is(err, git.ErrPathNotFound), errors.Is(err, dir.ErrNotFound):
		return "NotFound"
	case errors.Is(err, git.ErrSymlinkOutside), errors.Is(err, dir.ErrSymlinkOutside),
		errors.Is(err, git.ErrInvalidRef), errors.Is(err, dir.ErrInvalidPath):
		return "InvalidSource"
	case errors.Is(err, git.ErrUnreachable):
		return "Unreachable"
	}
	return "FetchFailed"
}
