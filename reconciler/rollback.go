package reconciler

import (
	"context"
	"errors"
	"fmt"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/sources/git"
)

// ErrNoRollbackTarget: a rollback without --to found no earlier applied
// revision in the Source's history.
var ErrNoRollbackTarget = errors.New("no earlier applied revision to roll back to")

// RollbackOptions say what Rollback restores. At most one of To and
// Commit is set; neither means the previous applied revision.
type RollbackOptions struct {
	// To is the revision whose tree under spec.path the new commit
	// restores: as status shows it ("main@sha1:<sha>"), a SHA, an
	// abbreviated SHA or a tag.
	To string
	// Commit is a single commit to undo; it fails with
	// git.ErrRevertConflict, naming the file and the later commit, when a
	// later commit touched the same files.
	Commit string
	// Author signs the commit; git.DefaultAuthor when empty.
	Author git.Author
}

// Rollback writes a commit on the branch a Git Source follows that
// restores spec.path to an earlier revision (or undoes one commit), pushes
// it with creds, and returns the new commit and the revision restored.
// Git stays the source of truth: the next sync applies the new commit like
// any other. A directory Source fails with ErrNoHistory; a Source pinned
// to a tag or commit cannot take a commit and fails too. Other errors are
// those of git.Cache.Revert.
func Rollback(ctx context.Context, cache *git.Cache, src *gitopsv1alpha1.Source, creds git.Credentials, opts RollbackOptions) (commit, target string, err error) {
	g := src.Spec.Git
	switch {
	case src.Spec.Directory != nil:
		return "", "", fmt.Errorf("%w: Source %s/%s follows the directory %s; restore its files instead",
			ErrNoHistory, src.Namespace, src.Name, src.Spec.Directory.Path)
	case g == nil:
		return "", "", errors.New("source has neither spec.git nor spec.directory")
	case g.Ref.Commit != "" || g.Ref.Tag != "":
		return "", "", fmt.Errorf("Source %s/%s is pinned to %s: a rollback needs a branch to commit to; point spec.git.ref at the revision to run instead",
			src.Namespace, src.Name, GitRef(g))
	}
	if opts.To != "" && opts.Commit != "" {
		return "", "", errors.New("give either a revision to restore or a commit to undo, not both")
	}
	ro := git.RevertOptions{Path: src.Spec.Path, Author: opts.Author}
	switch {
	case opts.Commit != "":
		ro.Commit = CommitOf(opts.Commit)
		target = opts.Commit
	case opts.To != "":
		ro.To = CommitOf(opts.To)
		target = opts.To
	default:
		target = PreviousRevision(src)
		if target == "" {
			return "", "", fmt.Errorf("Source %s/%s: %w (see status.history)", src.Namespace, src.Name, ErrNoRollbackTarget)
		}
		ro.To = CommitOf(target)
	}
	commit, err = cache.Revert(ctx, g.URL, branchOf(g), creds, ro)
	return commit, target, err
}
