package ociimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestCompileStaticLinksFlagsAndCachesTheResult(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	bin, err := CompileStatic("testdata/prog", "prog", "-X main.word=linked")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "linked\n" {
		t.Errorf("got output %q, want %q", out, "linked\n")
	}
	again, err := CompileStatic("testdata/prog", "prog", "-X main.word=linked")
	if err != nil || again != bin {
		t.Errorf("second build: got %q, %v, want the cached %q", again, err, bin)
	}
	other, err := CompileStatic("testdata/prog", "prog", "-X main.word=other")
	if err != nil || other == bin {
		t.Errorf("other ldflags: got %q, %v, want a build of its own", other, err)
	}
}

func TestCompileStaticFailsWithoutSources(t *testing.T) {
	if _, err := CompileStatic(t.TempDir(), "x", ""); err == nil {
		t.Fatal("got no error for a directory without Go files")
	}
}

func TestOCIArchiveNamesEveryImage(t *testing.T) {
	refs := map[string]v1.Image{}
	for _, v := range []string{"v1", "v2"} {
		img, err := FromFiles(append(BaseFiles(), File{Name: "version", Mode: 0o644, Data: []byte(v)}),
			v1.Config{Entrypoint: []string{"/hello"}, Env: []string{"VERSION=" + v}})
		if err != nil {
			t.Fatal(err)
		}
		refs["example.test/hello:"+v] = img
	}
	var buf bytes.Buffer
	if err := WriteOCIArchive(&buf, refs); err != nil {
		t.Fatal(err)
	}
	index := readTarFile(t, buf.Bytes(), "index.json")
	var idx v1.IndexManifest
	if err := json.Unmarshal(index, &idx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range idx.Manifests {
		got = append(got, m.Annotations["io.containerd.image.name"])
	}
	want := []string{"example.test/hello:v1", "example.test/hello:v2"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got image names %v, want %v", got, want)
	}
}

func TestDockerArchiveRoundTrips(t *testing.T) {
	img, err := FromFiles(BaseFiles(), v1.Config{Cmd: []string{"/x"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteDockerArchive(&buf, "example.test/x:v1", img); err != nil {
		t.Fatal(err)
	}
	back, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.Config.Cmd) != 1 || cf.Config.Cmd[0] != "/x" || cf.OS != "linux" {
		t.Errorf("got config %+v (os %s), want cmd [/x] on linux", cf.Config, cf.OS)
	}
	if err := WriteDockerArchive(&buf, "not a reference", img); err == nil {
		t.Error("got no error for an invalid reference")
	}
}

func readTarFile(t *testing.T, archive []byte, name string) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in archive: %v", name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
