package dir

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Errors Snapshot returns, tested with errors.Is.
var (
	// ErrNotFound: root or root/path does not exist or is not a folder.
	ErrNotFound = errors.New("directory not found")
	// ErrInvalidPath: path leaves root ("..").
	ErrInvalidPath = errors.New("invalid path")
	// ErrSymlinkOutside: a symbolic link resolves outside root, or to
	// nothing.
	ErrSymlinkOutside = errors.New("symlink points outside the directory")
)

// Revision identifies the content of a directory at one moment.
type Revision struct {
	// ID is "sha256:<hex>" over the sorted relative paths and contents.
	ID string
	// Time is the newest modification time among the files and folders
	// read: when the content was last changed, as far as the filesystem
	// says.
	Time time.Time
	// Files counts the files read.
	Files int
}

// String is the ID.
func (r Revision) String() string { return r.ID }

// Ignored reports whether a file or folder name is left out of snapshots
// and watches: dot-names (.git, .swp files, .#locks) and backups ending in
// "~".
func Ignored(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~")
}

// Snapshot reads every file under the folder p of root (p "" is root
// itself) and returns its revision and the files, keyed by slash-separated
// paths relative to root/p. Symbolic links resolving inside root are
// followed; others fail with ErrSymlinkOutside naming the link. Errors
// wrap ErrNotFound, ErrInvalidPath, ErrSymlinkOutside or the filesystem's.
func Snapshot(root, p string) (Revision, map[string][]byte, error) {
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return Revision{}, nil, fmt.Errorf("snapshot %s: %w: %q leaves the directory", root, ErrInvalidPath, p)
		}
	}
	realRoot, err := realDir(root)
	if err != nil {
		return Revision{}, nil, fmt.Errorf("snapshot %s: %w", root, err)
	}
	base, err := realDir(filepath.Join(realRoot, filepath.FromSlash(p)))
	if err != nil {
		return Revision{}, nil, fmt.Errorf("snapshot %s: %w", filepath.Join(root, p), err)
	}
	if !within(realRoot, base) {
		return Revision{}, nil, fmt.Errorf("snapshot %s: %w: %s resolves to %s", root, ErrSymlinkOutside, p, base)
	}
	s := &snapshot{root: realRoot, shownRoot: root, files: map[string][]byte{}, visited: map[string]bool{}}
	if err := s.walk(base, ""); err != nil {
		return Revision{}, nil, fmt.Errorf("snapshot %s: %w", root, err)
	}
	return Revision{ID: hashFiles(s.files), Time: s.newest, Files: len(s.files)}, s.files, nil
}

// realDir resolves d to an absolute path without links, which must be a
// folder.
func realDir(d string) (string, error) {
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: %s", ErrNotFound, d)
	}
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%w: %s is not a folder", ErrNotFound, d)
	}
	return real, nil
}

type snapshot struct {
	root      string // resolved
	shownRoot string // as the caller named it, for messages
	files     map[string][]byte
	visited   map[string]bool // resolved folders, against link loops
	newest    time.Time
}

func (s *snapshot) walk(dir, rel string) error {
	if s.visited[dir] {
		return nil
	}
	s.visited[dir] = true
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	s.touch(fi)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if Ignored(e.Name()) {
			continue
		}
		if err := s.entry(filepath.Join(dir, e.Name()), path.Join(rel, e.Name()), e); err != nil {
			return err
		}
	}
	return nil
}

func (s *snapshot) entry(full, rel string, e fs.DirEntry) error {
	target := full
	if e.Type()&fs.ModeSymlink != 0 {
		resolved, err := s.resolveLink(full)
		if err != nil {
			return err
		}
		target = resolved
	}
	fi, err := os.Stat(target)
	if err != nil {
		return err
	}
	switch {
	case fi.IsDir():
		return s.walk(target, rel)
	case fi.Mode().IsRegular():
		content, err := os.ReadFile(target)
		if err != nil {
			return err
		}
		s.files[rel] = content
		s.touch(fi)
	}
	return nil // sockets, devices, pipes: not manifests
}

// resolveLink follows the link at full, refusing targets outside root.
func (s *snapshot) resolveLink(full string) (string, error) {
	link := full
	if r, err := filepath.Rel(s.root, full); err == nil {
		link = filepath.Join(s.shownRoot, r)
	}
	dest, _ := os.Readlink(full)
	resolved, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", fmt.Errorf("%w: symlink %s points to %s, which does not exist", ErrSymlinkOutside, link, dest)
	}
	if !within(s.root, resolved) {
		return "", fmt.Errorf("%w: symlink %s points to %s, outside %s", ErrSymlinkOutside, link, resolved, s.shownRoot)
	}
	return resolved, nil
}

func (s *snapshot) touch(fi fs.FileInfo) {
	if t := fi.ModTime(); t.After(s.newest) {
		s.newest = t
	}
}

// within reports whether p is root or below it (both resolved).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// hashFiles is "sha256:<hex>" over the sorted paths, each followed by its
// length-prefixed content, so that no two different sets collide by
// concatenation.
func hashFiles(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	var n [8]byte
	for _, name := range names {
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		h.Write(n[:])
		h.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(len(files[name])))
		h.Write(n[:])
		h.Write(files[name])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
