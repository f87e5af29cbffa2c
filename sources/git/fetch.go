package git

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Ref selects what a Source follows: an exact commit, else a tag, else a
// branch. The zero Ref is branch main.
type Ref struct {
	Branch string
	Tag    string
	Commit string
}

// DefaultBranch is followed when a Ref names nothing.
const DefaultBranch = "main"

// String names the reference the way git would: a full commit SHA,
// refs/tags/<tag> or refs/heads/<branch>.
func (r Ref) String() string {
	switch {
	case r.Commit != "":
		return strings.ToLower(r.Commit)
	case r.Tag != "":
		return "refs/tags/" + r.Tag
	case r.Branch != "":
		return "refs/heads/" + r.Branch
	default:
		return "refs/heads/" + DefaultBranch
	}
}

// Revision is one commit of a repository, as fetched.
type Revision struct {
	// URL of the repository it was fetched from.
	URL string
	// Ref is what was followed: refs/heads/<branch>, refs/tags/<tag>, or
	// the commit itself for a Source pinned to a commit.
	Ref string
	// Commit is the full 40-hex SHA-1.
	Commit string
	// Subject is the first line of the commit message.
	Subject string
	// Author is "Name <email>".
	Author string
	// Time is the committer time.
	Time time.Time
}

// Short is the commit abbreviated to 7 characters.
func (r Revision) Short() string { return short(r.Commit) }

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Fetch brings the clone of url up to date for ref and returns the commit
// ref points at. The context bounds the remote call (Options.Timeout when
// it has no deadline). A commit already in the cache is returned without a
// remote call. Errors wrap ErrUnreachable, ErrAuth, ErrRepositoryNotFound,
// ErrRefNotFound or ErrInvalidRef.
func (c *Cache) Fetch(ctx context.Context, url string, ref Ref, creds Credentials) (Revision, error) {
	ep, err := endpoint(url)
	if err != nil {
		return Revision{}, err
	}
	e := c.lock(url)
	defer e.mu.Unlock()
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	auth, err := creds.authMethod(ep, c.opts.Dir, remaining(ctx))
	if err != nil {
		return Revision{}, err
	}
	rc := &remoteCall{url: url, auth: auth, secrets: append(creds.secrets(), urlSecrets(url)...)}

	var hash plumbing.Hash
	switch {
	case ref.Commit != "":
		hash, err = c.fetchCommit(ctx, e, rc, ref.Commit)
	case ref.Tag != "":
		hash, err = c.fetchTag(ctx, e, rc, ref.Tag)
	default:
		branch := ref.Branch
		if branch == "" {
			branch = DefaultBranch
		}
		hash, err = c.fetchBranch(ctx, e, rc, branch)
	}
	if err != nil {
		return Revision{}, err
	}
	commit, err := e.repo.CommitObject(hash)
	if err != nil {
		return Revision{}, fmt.Errorf("read commit %s of %s: %w", hash, redactURL(url), err)
	}
	rev := revisionOf(url, commit)
	rev.Ref = ref.String()
	return rev, nil
}

// remoteCall carries what every remote operation on one URL needs.
type remoteCall struct {
	url     string
	auth    transport.AuthMethod
	secrets []string
}

// fetch runs one fetch of specs into repo; up to date is not an error.
// what names the reference for messages ("branch main").
func (rc *remoteCall) fetch(ctx context.Context, repo *gogit.Repository, what string, depth int, specs ...config.RefSpec) error {
	err := repo.FetchContext(ctx, &gogit.FetchOptions{
		RemoteName: "origin",
		RemoteURL:  rc.url,
		RefSpecs:   specs,
		Depth:      depth,
		Auth:       rc.auth,
		Tags:       gogit.NoTags,
		Force:      true,
	})
	if err == nil || errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return nil
	}
	return classify(ctx, "fetch "+what+" of", rc.url, rc.secrets, err)
}

// full opens the clone, replacing a shallow one by an empty full one.
func (e *entry) full(url string) (*gogit.Repository, error) {
	repo, err := e.open(url)
	if err != nil || !isShallow(repo) {
		return repo, err
	}
	if err := e.reset(url); err != nil {
		return nil, err
	}
	return e.open(url)
}

func (c *Cache) fetchBranch(ctx context.Context, e *entry, rc *remoteCall, branch string) (plumbing.Hash, error) {
	repo, err := e.full(rc.url)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	name := plumbing.NewBranchReferenceName(branch)
	if err := validRef(rc.url, name); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := rc.fetch(ctx, repo, "branch "+branch, 0, config.RefSpec("+"+name+":"+name)); err != nil {
		return plumbing.ZeroHash, err
	}
	r, err := repo.Reference(name, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("branch %s of %s: %w", branch, redactURL(rc.url), ErrRefNotFound)
	}
	return r.Hash(), nil
}

func (c *Cache) fetchTag(ctx context.Context, e *entry, rc *remoteCall, tag string) (plumbing.Hash, error) {
	repo, err := e.open(rc.url)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	depth := 0
	if isEmpty(repo) || isShallow(repo) {
		depth = 1 // a pinned tag needs no history
	}
	name := plumbing.NewTagReferenceName(tag)
	if err := validRef(rc.url, name); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := rc.fetch(ctx, repo, "tag "+tag, depth, config.RefSpec("+"+name+":"+name)); err != nil {
		return plumbing.ZeroHash, err
	}
	r, err := repo.Reference(name, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("tag %s of %s: %w", tag, redactURL(rc.url), ErrRefNotFound)
	}
	return peel(repo, r.Hash())
}

func (c *Cache) fetchCommit(ctx context.Context, e *entry, rc *remoteCall, sha string) (plumbing.Hash, error) {
	sha = strings.ToLower(sha)
	if !fullSHA.MatchString(sha) {
		return plumbing.ZeroHash, fmt.Errorf("commit %q for %s: %w: want 40 hexadecimal digits", sha, redactURL(rc.url), ErrInvalidRef)
	}
	hash := plumbing.NewHash(sha)
	repo, err := e.full(rc.url)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := repo.CommitObject(hash); err == nil {
		return hash, nil // commits are immutable: nothing to fetch
	}
	err = rc.fetch(ctx, repo, "branches and tags", 0, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
	if err != nil && !errors.Is(err, ErrRefNotFound) {
		return plumbing.ZeroHash, err
	}
	if _, err := repo.CommitObject(hash); err == nil {
		return hash, nil
	}
	// Not reachable from a branch or tag: some servers still serve it.
	err = rc.fetch(ctx, repo, "commit "+sha, 0, config.RefSpec(sha+":refs/navarch/commits/"+sha))
	if err != nil && !errors.Is(err, gogit.ErrExactSHA1NotSupported) && !errors.Is(err, ErrRefNotFound) {
		return plumbing.ZeroHash, err
	}
	if _, err := repo.CommitObject(hash); err == nil {
		return hash, nil
	}
	return plumbing.ZeroHash, fmt.Errorf("commit %s of %s: %w: not reachable from any branch or tag", sha, redactURL(rc.url), ErrRefNotFound)
}

// validRef refuses names git would refuse (and refspec syntax).
func validRef(url string, name plumbing.ReferenceName) error {
	if err := name.Validate(); err != nil || strings.ContainsAny(string(name), ":*") {
		return fmt.Errorf("%s of %s: %w: not a valid reference name", name, redactURL(url), ErrInvalidRef)
	}
	return nil
}

// peel follows annotated tags to the commit they name.
func peel(repo *gogit.Repository, h plumbing.Hash) (plumbing.Hash, error) {
	for i := 0; i < 10; i++ {
		tag, err := repo.TagObject(h)
		if err != nil {
			return h, nil
		}
		h = tag.Target
	}
	return plumbing.ZeroHash, fmt.Errorf("tag chain at %s too long", h)
}

func revisionOf(url string, c *object.Commit) Revision {
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return Revision{
		URL:     url,
		Ref:     c.Hash.String(),
		Commit:  c.Hash.String(),
		Subject: strings.TrimSpace(subject),
		Author:  fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email),
		Time:    c.Committer.When,
	}
}
