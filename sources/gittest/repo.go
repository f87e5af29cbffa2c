package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a bare repository on a Server and a work clone of it.
type Repo struct {
	// Name is the repository's name without ".git".
	Name string
	// Bare is the bare repository's directory.
	Bare string
	// Work is the work clone's directory, on branch main.
	Work string
	// URL is the repository's HTTP URL.
	URL string
	// FileURL is the repository's file:// URL.
	FileURL string

	t   testing.TB
	env []string
}

// NewRepo creates an empty bare repository <name>.git on s, with pushes
// allowed, and a work clone on branch main.
func (s *Server) NewRepo(t testing.TB, name string) *Repo {
	t.Helper()
	home := t.TempDir()
	r := &Repo{
		Name:    name,
		Bare:    filepath.Join(s.Root, name+".git"),
		Work:    filepath.Join(t.TempDir(), name),
		URL:     s.URL + "/" + name + ".git",
		FileURL: "file://" + filepath.Join(s.Root, name+".git"),
		t:       t,
		env: append(os.Environ(),
			"HOME="+home,
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=Ada Lovelace", "GIT_AUTHOR_EMAIL=ada@example.com",
			"GIT_COMMITTER_NAME=Ada Lovelace", "GIT_COMMITTER_EMAIL=ada@example.com",
			"GIT_TERMINAL_PROMPT=0",
		),
	}
	r.run("", "init", "--quiet", "--bare", "-b", "main", r.Bare)
	r.run(r.Bare, "config", "http.receivepack", "true")
	r.run("", "init", "--quiet", "-b", "main", r.Work)
	r.run(r.Work, "remote", "add", "origin", r.Bare)
	return r
}

// Commit writes files (path → content) and removes the paths in remove in
// the work clone, commits everything with msg and returns the commit's SHA.
// It does not push.
func (r *Repo) Commit(msg string, files map[string]string, remove ...string) string {
	r.t.Helper()
	for p, content := range files {
		full := filepath.Join(r.Work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	for _, p := range remove {
		r.Git("rm", "-r", "--quiet", p)
	}
	r.Git("add", "-A")
	r.Git("commit", "--quiet", "--allow-empty", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// CommitAndPush commits like Commit and pushes the current branch.
func (r *Repo) CommitAndPush(msg string, files map[string]string, remove ...string) string {
	r.t.Helper()
	sha := r.Commit(msg, files, remove...)
	r.Push()
	return sha
}

// Push pushes the current branch of the work clone to the bare repository.
func (r *Repo) Push() {
	r.t.Helper()
	r.Git("push", "--quiet", "origin", "HEAD")
}

// Git runs git with args in the work clone and returns its trimmed output,
// failing the test on error.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return r.run(r.Work, args...)
}

// BareGit runs git with args in the bare repository.
func (r *Repo) BareGit(args ...string) string {
	r.t.Helper()
	return r.run(r.Bare, args...)
}

func (r *Repo) run(dir string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = r.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
