package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// cli runs the navarch client against the cluster whose admin kubeconfig
// lives in dataDir.
type cli struct {
	w       *world
	dataDir string
}

// env is the client's environment: the world's, pointing at dataDir.
func (c cli) env() []string {
	return c.w.env("NAVARCH_DATA_DIR="+c.dataDir, "KUBECONFIG="+filepath.Join(c.dataDir, "kubeconfig"))
}

// try runs navarch with args and returns its combined output.
func (c cli) try(args ...string) (string, error) {
	return run(c.env(), c.w.home, 2*time.Minute, append([]string{c.w.bin}, args...)...)
}

// must runs navarch with args and fails the test when it fails.
func (c cli) must(args ...string) string {
	c.w.t.Helper()
	out, err := c.try(args...)
	if err != nil {
		c.w.t.Fatalf("navarch %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// stdout runs navarch with args and returns its standard output alone,
// failing the test when it fails.
func (c cli) stdout(args ...string) string {
	c.w.t.Helper()
	var out, errOut bytes.Buffer
	if _, err := runTo(&out, &errOut, c.env(), c.w.home, 2*time.Minute, append([]string{c.w.bin}, args...)...); err != nil {
		c.w.t.Fatalf("navarch %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// getJSON runs `navarch get … -o json` and decodes the answer into v.
func (c cli) getJSON(v any, args ...string) error {
	out, err := c.try(append(append([]string{"get"}, args...), "-o", "json")...)
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("decode navarch get %s: %w: %.300s", strings.Join(args, " "), err, out)
	}
	return nil
}

// git runs the git command in dir and fails the test when it fails.
func (w *world) git(dir string, args ...string) string {
	w.t.Helper()
	out, err := run(w.env(), dir, time.Minute, append([]string{"git"}, args...)...)
	if err != nil {
		w.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// clone is a working copy of the quickstart's repository.
type clone struct {
	w   *world
	dir string
}

// clone clones the repository at url into the world's directory.
func (w *world) clone(url string) *clone {
	w.t.Helper()
	dir := filepath.Join(w.dir, "clone")
	w.git(w.dir, "clone", "-q", url, dir)
	return &clone{w: w, dir: dir}
}

// edit rewrites the file at rel (under the clone) with fn.
func (c *clone) edit(rel string, fn func(string) string) {
	c.w.t.Helper()
	p := filepath.Join(c.dir, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		c.w.t.Fatal(err)
	}
	after := fn(string(b))
	if after == string(b) {
		c.w.t.Fatalf("edit of %s changed nothing", rel)
	}
	if err := os.WriteFile(p, []byte(after), 0o644); err != nil {
		c.w.t.Fatal(err)
	}
}

// replace replaces old with new in the file at rel.
func (c *clone) replace(rel, old, new string) {
	c.w.t.Helper()
	c.edit(rel, func(s string) string { return strings.ReplaceAll(s, old, new) })
}

// write creates or replaces the file at rel.
func (c *clone) write(rel, content string) {
	c.w.t.Helper()
	p := filepath.Join(c.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.w.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		c.w.t.Fatal(err)
	}
}

// commitAndPush commits everything with message, pushes it (the
// repository's hook then sends the webhook) and returns the commit's SHA
// and git push's output.
func (c *clone) commitAndPush(message string) (sha, pushOutput string) {
	c.w.t.Helper()
	c.w.git(c.dir, "add", "-A")
	c.w.git(c.dir, "commit", "-q", "-m", message)
	sha = c.w.git(c.dir, "rev-parse", "HEAD")
	pushOutput = c.w.git(c.dir, "push", "origin", "HEAD:main")
	return sha, pushOutput
}

// pull brings the clone up to the remote branch.
func (c *clone) pull() {
	c.w.t.Helper()
	c.w.git(c.dir, "pull", "-q", "--ff-only", "origin", "main")
}

// remoteHead returns the SHA the remote's main branch points at, as
// git ls-remote sees it.
func (c *clone) remoteHead() string {
	c.w.t.Helper()
	f := strings.Fields(c.w.git(c.dir, "ls-remote", "origin", "refs/heads/main"))
	if len(f) == 0 {
		c.w.t.Fatal("git ls-remote: no refs/heads/main")
	}
	return f[0]
}
