package exampleapp

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// startHello runs the compiled program on a free loopback port with env
// and returns its base URL.
func startHello(t *testing.T, bin string, env ...string) string {
	t.Helper()
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0")
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`serving on (\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(20 * time.Second):
		t.Fatal("hello did not say where it serves within 20s")
		return ""
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got status %d (%s), want 200", url, resp.StatusCode, b)
	}
	return string(b)
}

func TestHelloAnswersWithVersionAndPod(t *testing.T) {
	bin, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	api := startHello(t, bin, "HELLO_VERSION=v2", "POD_NAME=api-1", "GREETING=Hi")
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(api, "http://"))
	web := startHello(t, bin, "HELLO_VERSION=v1", "POD_NAME=web-1", "UPSTREAM=api",
		"API_SERVICE_HOST="+host, "API_SERVICE_PORT="+port)
	tests := []struct{ url, want string }{
		{api + "/", "Hi: pod api-1, version v2\n"},
		{api + "/version", "v2\n"},
		{api + "/healthz", "ok\n"},
		{web + "/", "hello: pod web-1, version v1\n  api: Hi: pod api-1, version v2\n"},
	}
	for _, tt := range tests {
		if got := get(t, tt.url); got != tt.want {
			t.Errorf("GET %s: got %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestImagesCarryTheirVersionAndTheBrokenOneCannotStart(t *testing.T) {
	bin, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range Tags {
		img, err := Image(bin, tag)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(cf.Config.Env, "HELLO_VERSION="+tag) {
			t.Errorf("%s: got env %v, want HELLO_VERSION=%s", tag, cf.Config.Env, tag)
		}
		if tag != Broken {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, bin, cf.Config.Cmd...).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "cannot start") {
			t.Errorf("broken: got %v with output %q, want a failure saying it cannot start", err, out)
		}
	}
	if _, err := Image(bin, "v9"); err == nil {
		t.Error("got no error for an unknown tag")
	}
}

func TestWriteArchivesWritesOneFilePerTag(t *testing.T) {
	dir := t.TempDir()
	paths, err := WriteArchives(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(Tags) {
		t.Fatalf("got %d archives, want %d", len(paths), len(Tags))
	}
	for i, tag := range Tags {
		if paths[i] != filepath.Join(dir, ArchiveName(tag)) {
			t.Errorf("got %s, want %s", paths[i], filepath.Join(dir, ArchiveName(tag)))
		}
		if fi, err := os.Stat(paths[i]); err != nil || fi.Size() == 0 || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: got %v, %v, want a readable non-empty file", paths[i], fi, err)
		}
	}
}
