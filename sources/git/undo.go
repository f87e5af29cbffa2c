package git

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// undoTree is head's tree with every file that target changed under p put
// back as it was in target's parent. It fails with a *ConflictError when a
// commit after target on head's history touched one of those files, since
// undoing target alone would then also undo (part of) that later commit.
func undoTree(repo *gogit.Repository, head, target *object.Commit, p, url string) (plumbing.Hash, error) {
	if target.NumParents() > 1 {
		return plumbing.ZeroHash, fmt.Errorf("revert %s on %s: %w: a merge commit cannot be reverted alone; revert to a revision instead",
			short(target.Hash.String()), redactURL(url), ErrInvalidRef)
	}
	onBranch, err := target.IsAncestor(head)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if !onBranch {
		return plumbing.ZeroHash, fmt.Errorf("revert %s on %s: %w: commit is not on the branch",
			short(target.Hash.String()), redactURL(url), ErrInvalidRef)
	}
	var parent *object.Commit
	if target.NumParents() == 1 {
		if parent, err = target.Parent(0); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	changed, err := changedFiles(parent, target, p)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if len(changed) == 0 {
		return head.TreeHash, nil // nothing under p: the caller says so
	}
	if err := checkLater(head, target, p, changed, url); err != nil {
		return plumbing.ZeroHash, err
	}

	var parentTree *object.Tree
	if parent != nil {
		if parentTree, err = parent.Tree(); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	tree := head.TreeHash
	for _, f := range sortedKeys(changed) {
		var entry *object.TreeEntry
		if parentTree != nil {
			if entry, err = entryAt(parentTree, f); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		if tree, err = putPath(repo.Storer, tree, f, entry); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	return rootOrEmpty(repo.Storer, tree)
}

// checkLater walks the commits reachable from head but not from target
// and fails on the oldest one found that touched a file in changed.
func checkLater(head, target *object.Commit, p string, changed map[string]bool, url string) error {
	older := map[plumbing.Hash]bool{}
	err := object.NewCommitPreorderIter(target, nil, nil).ForEach(func(c *object.Commit) error {
		older[c.Hash] = true
		return nil
	})
	if err != nil {
		return err
	}
	var conflict *ConflictError
	var conflictTime time.Time
	err = object.NewCommitPreorderIter(head, older, nil).ForEach(func(c *object.Commit) error {
		if conflict != nil && !c.Committer.When.Before(conflictTime) {
			return nil // only an older conflicting commit is of interest
		}
		var parent *object.Commit
		if c.NumParents() > 0 {
			var err error
			if parent, err = c.Parent(0); err != nil {
				return err
			}
		}
		touched, err := changedFiles(parent, c, p)
		if err != nil {
			return err
		}
		for _, f := range sortedKeys(touched) {
			if changed[f] {
				conflict = &ConflictError{
					URL: redactURL(url), Reverted: target.Hash.String(), File: f,
					Later: c.Hash.String(), LaterSubject: firstLine(c.Message),
				}
				conflictTime = c.Committer.When
				break
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, storer.ErrStop) {
		return err
	}
	if conflict != nil {
		return conflict
	}
	return nil
}

// changedFiles lists the paths (from the repository root) under p whose
// content or mode differ between from (nil: an empty tree) and to.
func changedFiles(from, to *object.Commit, p string) (map[string]bool, error) {
	var a, b *object.Tree
	var err error
	if from != nil {
		if a, err = commitSubtree(from, p); err != nil {
			return nil, err
		}
	}
	if b, err = commitSubtree(to, p); err != nil {
		return nil, err
	}
	if a == nil && b == nil {
		return nil, nil
	}
	changes, err := object.DiffTree(a, b)
	if err != nil {
		return nil, err
	}
	files := map[string]bool{}
	for _, ch := range changes {
		for _, name := range []string{ch.From.Name, ch.To.Name} {
			if name != "" {
				files[path.Join(p, name)] = true
			}
		}
	}
	return files, nil
}

func commitSubtree(c *object.Commit, p string) (*object.Tree, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	return subtreeOrNil(tree, p)
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
