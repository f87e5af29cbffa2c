package git

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Author signs the commits this package writes.
type Author struct {
	Name  string
	Email string
}

// DefaultAuthor signs revert commits when RevertOptions.Author is empty.
var DefaultAuthor = Author{Name: "navarch", Email: "navarch@localhost"}

// RevertOptions say what Revert undoes. Exactly one of To and Commit is set.
type RevertOptions struct {
	// Path is the folder restored, relative to the repository root; "" is the whole repository. Outside Path the branch head's tree
	// is kept as it is.
	Path string
	// To is the revision whose tree under Path the new commit restores: a
	// full or abbreviated SHA, or a tag.
	To string
	// Commit is a single commit to undo. It fails with ErrRevertConflict
	// when a later commit on the branch touched one of its files.
	Commit string
	// Author of the new commit; DefaultAuthor when empty.
	Author Author
	// Message of the new commit. Empty means
	// "Revert to <short>: <subject>" for To and
	// `Revert "<subject>"` for Commit.
	Message string
}

// Validate reports options Revert cannot act on.
func (o RevertOptions) Validate() error {
	if (o.To == "") == (o.Commit == "") {
		return fmt.Errorf("%w: revert needs exactly one of a target revision and a single commit", ErrInvalidRef)
	}
	if o.Commit != "" && !fullSHA.MatchString(strings.ToLower(o.Commit)) {
		return fmt.Errorf("%w: commit %q: want 40 hexadecimal digits", ErrInvalidRef, o.Commit)
	}
	_, err := cleanPath(o.Path)
	return err
}

// Revert writes a commit on branch of url that undoes what opts says,
// pushes it with creds and returns its SHA. The commit's parent is the
// branch head just fetched; if the push is refused because the branch
// moved meanwhile, Revert fetches and tries once more. Errors wrap
// ErrInvalidRef, ErrRefNotFound, ErrNothingToRevert, ErrRevertConflict
// (a *ConflictError), ErrPushRejected, and the remote errors of Fetch.
func (c *Cache) Revert(ctx context.Context, url, branch string, creds Credentials, opts RevertOptions) (string, error) {
	if err := opts.Validate(); err != nil {
		return "", fmt.Errorf("revert on %s: %w", redactURL(url), err)
	}
	if branch == "" {
		return "", fmt.Errorf("revert on %s: %w: a revert needs a branch", redactURL(url), ErrInvalidRef)
	}
	opts.Path, _ = cleanPath(opts.Path)
	ep, err := endpoint(url)
	if err != nil {
		return "", err
	}
	e := c.lock(url)
	defer e.mu.Unlock()
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	auth, err := creds.authMethod(ep, c.opts.Dir, remaining(ctx))
	if err != nil {
		return "", err
	}
	rc := &remoteCall{url: url, auth: auth, secrets: append(creds.secrets(), urlSecrets(url)...)}

	for attempt := 1; ; attempt++ {
		headHash, err := c.fetchBranch(ctx, e, rc, branch)
		if err != nil {
			return "", err
		}
		repo := e.repo
		head, err := repo.CommitObject(headHash)
		if err != nil {
			return "", fmt.Errorf("revert on %s: %w", redactURL(url), err)
		}
		newHash, err := c.revertCommit(ctx, repo, rc, head, opts)
		if err != nil {
			return "", err
		}
		err = rc.push(ctx, repo, newHash, branch)
		if err == nil {
			ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), newHash)
			if err := repo.Storer.SetReference(ref); err != nil {
				return "", fmt.Errorf("revert on %s: record pushed commit: %w", redactURL(url), err)
			}
			return newHash.String(), nil
		}
		if !errors.Is(err, ErrPushRejected) || attempt == 2 {
			return "", err
		}
	}
}

// revertCommit builds (without pushing) the commit opts asks for on head.
func (c *Cache) revertCommit(ctx context.Context, repo *gogit.Repository, rc *remoteCall, head *object.Commit, opts RevertOptions) (plumbing.Hash, error) {
	var tree plumbing.Hash
	var msg string
	var err error
	if opts.To != "" {
		target, rerr := c.resolve(ctx, repo, rc, opts.To)
		if rerr != nil {
			return plumbing.ZeroHash, rerr
		}
		tree, err = restoreTree(repo, head, target, opts.Path)
		msg = fmt.Sprintf("Revert to %s: %s\n\nRestore %s to its state at %s.\n",
			short(target.Hash.String()), firstLine(target.Message), displayPath(opts.Path), target.Hash)
	} else {
		target, rerr := c.resolve(ctx, repo, rc, strings.ToLower(opts.Commit))
		if rerr != nil {
			return plumbing.ZeroHash, rerr
		}
		tree, err = undoTree(repo, head, target, opts.Path, rc.url)
		msg = fmt.Sprintf("Revert %q\n\nThis reverts commit %s.\n", firstLine(target.Message), target.Hash)
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if tree == head.TreeHash {
		return plumbing.ZeroHash, fmt.Errorf("revert on %s: %w: %s at %s already has that content",
			redactURL(rc.url), ErrNothingToRevert, displayPath(opts.Path), short(head.Hash.String()))
	}
	if opts.Message != "" {
		msg = opts.Message
	}
	author := opts.Author
	if author.Name == "" {
		author = DefaultAuthor
	}
	sig := object.Signature{Name: author.Name, Email: author.Email, When: c.opts.Now()}
	commit := &object.Commit{
		Author: sig, Committer: sig, Message: msg,
		TreeHash: tree, ParentHashes: []plumbing.Hash{head.Hash},
	}
	obj := repo.Storer.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return repo.Storer.SetEncodedObject(obj)
}

// resolve finds a revision in the clone, fetching every branch and tag
// when it is not there yet.
func (c *Cache) resolve(ctx context.Context, repo *gogit.Repository, rc *remoteCall, rev string) (*object.Commit, error) {
	find := func() (*object.Commit, error) {
		h, err := repo.ResolveRevision(plumbing.Revision(rev))
		if err != nil {
			return nil, err
		}
		return repo.CommitObject(*h)
	}
	if commit, err := find(); err == nil {
		return commit, nil
	}
	if err := rc.fetch(ctx, repo, "branches and tags", 0, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return nil, err
	}
	commit, err := find()
	if err != nil {
		return nil, fmt.Errorf("revision %s of %s: %w", rev, redactURL(rc.url), ErrRefNotFound)
	}
	return commit, nil
}

// restoreTree is head's tree with p replaced by target's p (removed when
// target has no p).
func restoreTree(repo *gogit.Repository, head, target *object.Commit, p string) (plumbing.Hash, error) {
	targetTree, err := target.Tree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	entry, err := entryAt(targetTree, p)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if p == "" {
		return targetTree.Hash, nil
	}
	h, err := putPath(repo.Storer, head.TreeHash, p, entry)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return rootOrEmpty(repo.Storer, h)
}

// push sends newHash to branch without forcing. A refusal because the
// branch moved wraps ErrPushRejected.
func (rc *remoteCall) push(ctx context.Context, repo *gogit.Repository, newHash plumbing.Hash, branch string) error {
	const tmp = plumbing.ReferenceName("refs/navarch/revert")
	if err := repo.Storer.SetReference(plumbing.NewHashReference(tmp, newHash)); err != nil {
		return err
	}
	defer repo.Storer.RemoveReference(tmp)
	err := repo.PushContext(ctx, &gogit.PushOptions{
		RemoteName: "origin",
		RemoteURL:  rc.url,
		RefSpecs:   []config.RefSpec{config.RefSpec(string(tmp) + ":" + string(plumbing.NewBranchReferenceName(branch)))},
		Auth:       rc.auth,
	})
	if err == nil || errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	cerr := classify(ctx, "push branch "+branch+" to", rc.url, rc.secrets, err)
	var re *remoteError
	if errors.As(cerr, &re) && re.kind == nil {
		re.kind = ErrPushRejected
		re.msg = strings.Replace(re.msg, ": ", ": "+ErrPushRejected.Error()+": ", 1)
	}
	return cerr
}

func firstLine(msg string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	return strings.TrimSpace(line)
}
