package testimage

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Registry is an in-process OCI registry on 127.0.0.1 (plain HTTP).
type Registry struct {
	// Host is "127.0.0.1:PORT", the registry part of references.
	Host string
	srv  *httptest.Server
}

// StartRegistry serves an empty registry on 127.0.0.1 until the test ends.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return &Registry{Host: strings.TrimPrefix(srv.URL, "http://"), srv: srv}
}

// Push uploads img as repo:tag (repo like "testapp") and returns the full
// reference "127.0.0.1:PORT/repo:tag".
func (r *Registry) Push(t testing.TB, repo, tag string, img v1.Image) string {
	t.Helper()
	if err := r.push(repo, tag, img); err != nil {
		t.Fatalf("push %s:%s: %v", repo, tag, err)
	}
	return r.Host + "/" + repo + ":" + tag
}

func (r *Registry) push(repo, tag string, img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if err := r.putBlob(repo, d, data); err != nil {
			return err
		}
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cd, err := img.ConfigName()
	if err != nil {
		return err
	}
	if err := r.putBlob(repo, cd, cfg); err != nil {
		return err
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	return r.do(http.MethodPut, r.srv.URL+"/v2/"+repo+"/manifests/"+tag, string(mt), manifest, http.StatusCreated)
}

func (r *Registry) putBlob(repo string, d v1.Hash, data []byte) error {
	resp, err := http.Post(r.srv.URL+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("start upload: %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	base, _ := url.Parse(r.srv.URL)
	u := base.ResolveReference(loc)
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	return r.do(http.MethodPut, u.String(), "application/octet-stream", data, http.StatusCreated)
}

func (r *Registry) do(method, u, contentType string, body []byte, want int) error {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, msg)
	}
	return nil
}
