package testimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ReadyLine is what the test program, as a container's PID 1, prints on
// stderr once its signal handling is in place; wait for it in the
// container's log before stopping the container.
const ReadyLine = "testapp: ready"

// Ref is the reference tests give the image when they import it.
const Ref = "navarch.test/testapp:v1"

// Binary is where the image keeps the program.
const Binary = "/testapp"

// built caches the compiled program for the life of the test binary.
type built struct {
	once sync.Once
	path string
	err  error
}

var program built // one build per test binary; read-only after once

// BinaryPath compiles testapp (CGO_ENABLED=0, static) once per test binary
// and returns the path of the result. Builds are cached across runs in the
// user cache directory, keyed by the hash of the program's source.
func BinaryPath(t testing.TB) string {
	t.Helper()
	program.once.Do(func() { program.path, program.err = build() })
	if program.err != nil {
		t.Fatalf("build test program: %v", program.err)
	}
	return program.path
}

func build() (string, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("locate source: runtime.Caller failed")
	}
	src := filepath.Join(filepath.Dir(self), "testapp")
	code, err := os.ReadFile(filepath.Join(src, "main.go"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(code, runtime.Version()...))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "navarch-testimage", hex.EncodeToString(sum[:8]))
	out := filepath.Join(dir, "testapp")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := out + fmt.Sprintf(".%d", os.Getpid())
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, b)
	}
	return out, os.Rename(tmp, out)
}

// Image returns the test image: the static program at /testapp, a minimal
// /etc/passwd, /tmp, entrypoint [/testapp], cmd [serve --port 8080] and
// TESTAPP_VERSION=version in the environment (served at /version).
func Image(t testing.TB, version string) v1.Image {
	t.Helper()
	bin, err := os.ReadFile(BinaryPath(t))
	if err != nil {
		t.Fatal(err)
	}
	layer, err := layerOf([]file{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/:/testapp\nnobody:x:65534:65534:nobody:/:/testapp\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: "testapp", mode: 0o755, data: bin},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{
		Entrypoint: []string{Binary},
		Cmd:        []string{"serve", "--port", "8080"},
		Env:        []string{"PATH=/", "TESTAPP_VERSION=" + version},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Archive returns img as a docker archive tar (docker save format) naming
// it ref.
func Archive(t testing.TB, ref string, img v1.Image) []byte {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(tag, img, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// OCIArchive returns img as a tar of an OCI image layout naming it ref
// (in both io.containerd.image.name and org.opencontainers.image.ref.name).
func OCIArchive(t testing.TB, ref string, img v1.Image) []byte {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	ann := map[string]string{"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref}
	if err := p.AppendImage(img, layout.WithAnnotations(ann)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarDir(dir, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type file struct {
	name string
	mode int64
	data []byte
	dir  bool
}

func layerOf(files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

func tarDir(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
