package git

import (
	"errors"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// putPath stores a copy of the tree treeHash (the zero hash for none) in
// which the entry at path p is e, or is removed when e is nil, and returns
// the copy's hash. Folders left empty disappear; a tree left empty returns
// the zero hash. The trees along p are rewritten; everything else is
// shared with the original.
func putPath(s storer.EncodedObjectStorer, treeHash plumbing.Hash, p string, e *object.TreeEntry) (plumbing.Hash, error) {
	return putParts(s, treeHash, strings.Split(p, "/"), e)
}

func putParts(s storer.EncodedObjectStorer, treeHash plumbing.Hash, parts []string, e *object.TreeEntry) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if !treeHash.IsZero() {
		t, err := object.GetTree(s, treeHash)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, t.Entries...)
	}
	name := parts[0]
	i := -1
	for j := range entries {
		if entries[j].Name == name {
			i = j
			break
		}
	}
	found := i >= 0

	var next *object.TreeEntry
	if len(parts) == 1 {
		if e != nil {
			next = &object.TreeEntry{Name: name, Mode: e.Mode, Hash: e.Hash}
		}
	} else {
		child := plumbing.ZeroHash
		if found && entries[i].Mode == filemode.Dir {
			child = entries[i].Hash
		}
		h, err := putParts(s, child, parts[1:], e)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if !h.IsZero() {
			next = &object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
		}
	}

	switch {
	case found && next == nil:
		entries = append(entries[:i], entries[i+1:]...)
	case found:
		entries[i] = *next
	case next != nil:
		entries = append(entries, *next)
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	return writeTree(s, entries)
}

// writeTree stores a tree of entries (sorted here) and returns its hash.
func writeTree(s storer.EncodedObjectStorer, entries []object.TreeEntry) (plumbing.Hash, error) {
	sort.Sort(object.TreeEntrySorter(entries))
	obj := s.NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// rootOrEmpty turns the zero hash of an emptied root into the empty tree.
func rootOrEmpty(s storer.EncodedObjectStorer, h plumbing.Hash) (plumbing.Hash, error) {
	if !h.IsZero() {
		return h, nil
	}
	return writeTree(s, nil)
}

// entryAt is the tree entry at p in tree ("" is the tree itself), or nil
// when there is none.
func entryAt(tree *object.Tree, p string) (*object.TreeEntry, error) {
	if p == "" {
		return &object.TreeEntry{Mode: filemode.Dir, Hash: tree.Hash}, nil
	}
	e, err := tree.FindEntry(p)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// subtreeOrNil is the folder at p in tree, or nil when p is not a folder.
func subtreeOrNil(tree *object.Tree, p string) (*object.Tree, error) {
	if p == "" {
		return tree, nil
	}
	sub, err := tree.Tree(p)
	if errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
		return nil, nil
	}
	return sub, err
}
