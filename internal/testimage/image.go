package testimage

import (
	"bytes"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/navarch/navarch/internal/ociimage"
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
	return ociimage.CompileStatic(filepath.Join(filepath.Dir(self), "testapp"), "testapp", "")
}

// Image returns the test image: the static program at /testapp, a minimal
// /etc/passwd, /tmp, entrypoint [/testapp], cmd [serve --port 8080] and
// TESTAPP_VERSION=version in the environment (served at /version).
func Image(t testing.TB, version string) v1.Image {
	t.Helper()
	img, err := ociimage.FromBinary(BinaryPath(t), Binary, v1.Config{
		Entrypoint: []string{Binary},
		Cmd:        []string{"serve", "--port", "8080"},
		Env:        []string{"PATH=/", "TESTAPP_VERSION=" + version},
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Archive returns img as a docker archive tar (docker save format) naming
// it ref.
func Archive(t testing.TB, ref string, img v1.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ociimage.WriteDockerArchive(&buf, ref, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// OCIArchive returns img as a tar of an OCI image layout naming it ref
// (in both io.containerd.image.name and org.opencontainers.image.ref.name).
func OCIArchive(t testing.TB, ref string, img v1.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ociimage.WriteOCIArchive(&buf, map[string]v1.Image{ref: img}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
