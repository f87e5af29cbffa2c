package openapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(t *testing.T, docs map[string][]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(docs))
	t.Cleanup(srv.Close)
	return srv
}

// noRedirects is a client that reports redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestTheIndexListsEveryDocumentWithItsHash(t *testing.T) {
	docs := map[string][]byte{"api/v1": []byte(`{"openapi":"3.0.0"}`), "apis/apps/v1": []byte(`{"openapi":"3.0.0","x":1}`)}
	srv := serve(t, docs)
	resp, body := get(t, srv.URL+"/openapi/v3", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var index struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &index); err != nil {
		t.Fatalf("decode index %s: %v", body, err)
	}
	for path, data := range docs {
		want := "/openapi/v3/" + path + "?hash=" + hashOf(data)
		if got := index.Paths[path].ServerRelativeURL; got != want {
			t.Errorf("%s: got %q, want %q", path, got, want)
		}
	}
	if len(hashOf(nil)) != 128 || strings.ToUpper(hashOf(nil)) != hashOf(nil) {
		t.Errorf("got hash %q, want 128 upper-case hex digits (SHA-512) as kube-apiserver", hashOf(nil))
	}
}

func TestDocumentsAreServedWithCachingAsKubeAPIServerDoes(t *testing.T) {
	data := []byte(`{"openapi":"3.0.0"}`)
	srv := serve(t, map[string][]byte{"apis/apps/v1": data})
	hash := hashOf(data)
	base := srv.URL + "/openapi/v3/apis/apps/v1"

	t.Run("with the current hash the document is immutable", func(t *testing.T) {
		resp, body := get(t, base+"?hash="+hash, map[string]string{"Accept": "application/json"})
		if resp.StatusCode != http.StatusOK || body != string(data) {
			t.Fatalf("got %d %q, want 200 and the document", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Cache-Control"); got != "public, immutable" {
			t.Errorf("got Cache-Control %q, want public, immutable", got)
		}
		if resp.Header.Get("Expires") == "" || resp.Header.Get("Etag") != `"`+hash+`"` {
			t.Errorf("got Expires %q and Etag %q, want a date and the quoted hash", resp.Header.Get("Expires"), resp.Header.Get("Etag"))
		}
	})
	t.Run("with a stale hash it redirects to the current URL", func(t *testing.T) {
		resp, _ := get(t, base+"?hash=0123", nil)
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/openapi/v3/apis/apps/v1?hash="+hash {
			t.Errorf("got %d to %q, want 301 to the current hash", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("without a hash it is not cached for good", func(t *testing.T) {
		resp, body := get(t, base, nil)
		if resp.StatusCode != http.StatusOK || body != string(data) || resp.Header.Get("Cache-Control") != "" {
			t.Errorf("got %d, Cache-Control %q; want 200 without Cache-Control", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	})
	t.Run("a matching If-None-Match is 304", func(t *testing.T) {
		resp, _ := get(t, base, map[string]string{"If-None-Match": `"` + hash + `"`})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("got %d, want 304", resp.StatusCode)
		}
	})
	t.Run("a client wanting protobuf only is refused", func(t *testing.T) {
		resp, _ := get(t, base, map[string]string{"Accept": "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"})
		if resp.StatusCode != http.StatusNotAcceptable {
			t.Errorf("got %d, want 406", resp.StatusCode)
		}
	})
	t.Run("an unknown document is 404", func(t *testing.T) {
		for _, path := range []string{"/openapi/v3/apis/batch/v1", "/openapi/v3/apis", "/openapi/v2"} {
			if resp, _ := get(t, srv.URL+path, nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: got %d, want 404", path, resp.StatusCode)
			}
		}
	})
	t.Run("a write is refused", func(t *testing.T) {
		resp, err := http.Post(base, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("got %d, want 405", resp.StatusCode)
		}
	})
}
