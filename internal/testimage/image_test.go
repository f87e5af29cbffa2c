package testimage

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

func TestBinaryRunsSubcommands(t *testing.T) {
	bin := BinaryPath(t)
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"echo", "a", "b"}, 0, "a b\n"},
		{[]string{"exit", "3"}, 3, "exiting with 3\n"},
		{[]string{"nope"}, 2, "testapp: unknown command nope\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := exec.Command(bin, tt.args...).CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || string(out) != tt.wantOut {
				t.Errorf("got code %d output %q, want %d %q", code, out, tt.wantCode, tt.wantOut)
			}
			if d := Describe(append([]string{Binary}, tt.args...)); d.ExitCode != int32(tt.wantCode) || d.Output != tt.wantOut {
				t.Errorf("Describe: got code %d output %q, want %d %q", d.ExitCode, d.Output, tt.wantCode, tt.wantOut)
			}
		})
	}
}

func TestArchivesHoldTheirIndexFiles(t *testing.T) {
	img := Image(t, "v1")
	tests := []struct {
		name string
		tar  []byte
		want string
	}{
		{"docker archive", Archive(t, Ref, img), "manifest.json"},
		{"oci layout", OCIArchive(t, Ref, img), "index.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tar.NewReader(bytes.NewReader(tt.tar))
			var names []string
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, h.Name)
			}
			found := false
			for _, n := range names {
				found = found || n == tt.want
			}
			if !found {
				t.Errorf("got entries %v, want one named %s", names, tt.want)
			}
		})
	}
}

func TestRegistryServesPushedManifest(t *testing.T) {
	reg := StartRegistry(t)
	ref := reg.Push(t, "testapp", "v1", Image(t, "v1"))
	if want := reg.Host + "/testapp:v1"; ref != want {
		t.Fatalf("got ref %s, want %s", ref, want)
	}
	req, _ := http.NewRequest(http.MethodHead, "http://"+reg.Host+"/v2/testapp/manifests/v1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("got status %s, want 200 OK", resp.Status)
	}
}
