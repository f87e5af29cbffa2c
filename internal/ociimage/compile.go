package ociimage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// CompileStatic builds the Go main package in srcDir as a static Linux
// binary (CGO_ENABLED=0, -trimpath, stripped) named name and returns its
// path. Results are cached in the user cache directory, keyed by the hash
// of the package's .go files, ldflags and the Go version, so a second call
// with unchanged sources does not run the compiler. ldflags are extra -X
// settings and the like, appended to "-s -w". It fails when srcDir has no
// .go file or the build fails, with the compiler's output.
func CompileStatic(srcDir, name, ldflags string) (string, error) {
	key, err := sourceKey(srcDir, ldflags)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "navarch-images", key)
	out := filepath.Join(dir, name)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d", out, os.Getpid())
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w "+ldflags, "-o", tmp, ".")
	cmd.Dir = srcDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v: %s", srcDir, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, nil
}

// sourceKey hashes the package's .go files (not its tests), ldflags and
// the Go version.
func sourceKey(srcDir, ldflags string) (string, error) {
	files, err := filepath.Glob(filepath.Join(srcDir, "*.go"))
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
		n++
	}
	if n == 0 {
		return "", fmt.Errorf("compile %s: no Go source files", srcDir)
	}
	fmt.Fprintf(h, "ldflags %s\ngo %s %s\n", ldflags, runtime.Version(), runtime.GOARCH)
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}
