package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Files reads every regular file under dir (a folder inside the repository,
// "" or "." for its root) at rev, which Fetch returned. Keys are
// slash-separated paths relative to dir. Symbolic links are followed when
// they point to a file inside dir and refused otherwise; submodules are
// skipped. Errors wrap ErrInvalidRef (a dir with ".." or a revision not in
// the cache), ErrPathNotFound or ErrSymlinkOutside.
func (c *Cache) Files(ctx context.Context, rev Revision, dir string) (map[string][]byte, error) {
	clean, err := cleanPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", dir, redactURL(rev.URL), err)
	}
	e := c.lock(rev.URL)
	defer e.mu.Unlock()
	repo, err := e.open(rev.URL)
	if err != nil {
		return nil, err
	}
	commit, err := repo.CommitObject(plumbing.NewHash(rev.Commit))
	if err != nil {
		return nil, fmt.Errorf("read %s of %s at %s: %w: commit not fetched", dir, redactURL(rev.URL), short(rev.Commit), ErrInvalidRef)
	}
	tree, err := subtree(commit, clean)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s at %s: %w", displayPath(clean), redactURL(rev.URL), short(rev.Commit), err)
	}
	files, err := readTree(ctx, tree)
	if err != nil {
		return nil, fmt.Errorf("read %s of %s at %s: %w", displayPath(clean), redactURL(rev.URL), short(rev.Commit), err)
	}
	return files, nil
}

// cleanPath turns a folder given by a user into a tree path: no leading or
// trailing slash, "" for the root. ".." is refused.
func cleanPath(p string) (string, error) {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: path %q leaves the repository", ErrInvalidRef, p)
		}
	}
	p = strings.Trim(path.Clean("/"+p), "/")
	return p, nil
}

func displayPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// subtree is the tree of commit at p ("" for the root).
func subtree(commit *object.Commit, p string) (*object.Tree, error) {
	tree, err := commit.Tree()
	if err != nil {
		return nil, err
	}
	if p == "" {
		return tree, nil
	}
	sub, err := tree.Tree(p)
	if errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
		return nil, fmt.Errorf("%w: no folder %s", ErrPathNotFound, p)
	}
	return sub, err
}

func readTree(ctx context.Context, tree *object.Tree) (map[string][]byte, error) {
	files := map[string][]byte{}
	iter := tree.Files()
	defer iter.Close()
	for {
		f, err := iter.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := f.Name
		switch f.Mode {
		case filemode.Submodule:
			continue
		case filemode.Symlink:
			f, err = followLink(tree, f)
			if err != nil {
				return nil, err
			}
		}
		content, err := blobBytes(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		files[name] = content
	}
}

// followLink resolves a symbolic link inside tree to the file it names.
func followLink(tree *object.Tree, link *object.File) (*object.File, error) {
	name := link.Name
	f := link
	for hops := 0; f.Mode == filemode.Symlink; hops++ {
		if hops == 10 {
			return nil, fmt.Errorf("symlink %s: too many levels of links", name)
		}
		target, err := f.Contents()
		if err != nil {
			return nil, err
		}
		resolved := path.Join(path.Dir(f.Name), target)
		if path.IsAbs(target) || resolved == ".." || strings.HasPrefix(resolved, "../") {
			return nil, fmt.Errorf("%w: symlink %s points to %s", ErrSymlinkOutside, name, target)
		}
		next, err := tree.File(resolved)
		if err != nil {
			return nil, fmt.Errorf("symlink %s: target %s is not a file in the folder", name, target)
		}
		f = next
	}
	return f, nil
}

func blobBytes(f *object.File) ([]byte, error) {
	r, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
