package exampleapp

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/navarch/navarch/internal/ociimage"
)

// Repository is the name of the example images, without a tag.
const Repository = "localhost/hello"

// Tags of the example images.
const (
	V1     = "v1"
	V2     = "v2"
	Broken = "broken"
)

// Tags lists every image tag WriteArchives writes.
var Tags = []string{V1, V2, Broken}

// binary is where the images keep the program.
const binary = "/hello"

// Ref returns the full reference of the image tagged tag.
func Ref(tag string) string { return Repository + ":" + tag }

// ArchiveName is the file name WriteArchives gives the image tagged tag.
func ArchiveName(tag string) string { return "hello-" + tag + ".tar" }

// Compile builds the hello program (static, cached between calls) and
// returns its path.
func Compile() (string, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("locate the hello source: runtime.Caller failed")
	}
	return ociimage.CompileStatic(filepath.Join(filepath.Dir(self), "hello"), "hello", "")
}

// Image returns the image tagged tag, built around the program at bin
// (from Compile). It fails on a tag not in Tags.
func Image(bin, tag string) (v1.Image, error) {
	cfg := v1.Config{
		Entrypoint:   []string{binary},
		Env:          []string{"PATH=/", "HELLO_VERSION=" + tag},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		User:         "65534:65534",
	}
	switch tag {
	case V1, V2:
	case Broken:
		cfg.Cmd = []string{"-listen", ":99999"}
	default:
		return nil, fmt.Errorf("no example image tagged %q (have %v)", tag, Tags)
	}
	return ociimage.FromBinary(bin, binary, cfg)
}

// WriteArchives compiles the program and writes every image to dir, one
// OCI archive each named by ArchiveName, and returns the files' paths in
// the order of Tags. Existing archives are replaced.
func WriteArchives(dir string) ([]string, error) {
	bin, err := Compile()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, tag := range Tags {
		img, err := Image(bin, tag)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, ArchiveName(tag))
		if err := ociimage.WriteOCIArchiveFile(p, map[string]v1.Image{Ref(tag): img}); err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
