package webhook_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/navarch/navarch/sources/webhook"
)

var secret = []byte("It's a Secret to Everybody")

func payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// request builds a delivery as each sender sends it, signed with key.
func request(t testing.TB, provider, file string, key []byte) (*http.Request, []byte) {
	t.Helper()
	var body []byte
	if file != "" {
		body = payload(t, file)
	}
	r := httptest.NewRequest(http.MethodPost, "/webhooks/navarch-system/shop", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	h := r.Header
	switch provider {
	case "github-push", "github-ping":
		h.Set("X-GitHub-Event", strings.TrimPrefix(provider, "github-"))
		h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
		h.Set("X-GitHub-Hook-ID", "478212964")
		h.Set("User-Agent", "GitHub-Hookshot/044aadd")
		h.Set("X-Hub-Signature-256", "sha256="+sign(key, body))
	case "gitlab-push", "gitlab-tag-push":
		name := map[string]string{"gitlab-push": "Push Hook", "gitlab-tag-push": "Tag Push Hook"}[provider]
		h.Set("X-Gitlab-Event", name)
		h.Set("X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e")
		h.Set("Idempotency-Key", "f5e5f430-f57b-4e6e-9fac-d9128cd7232f")
		h.Set("X-Gitlab-Instance", "https://gitlab.example.com")
		h.Set("User-Agent", "GitLab/17.0.0")
		h.Set("X-Gitlab-Token", string(key))
	case "gitea-push":
		// Gitea sends its own headers and GitHub's and Gogs' for
		// compatibility.
		for _, p := range []string{"Gitea", "Gogs", "GitHub"} {
			h.Set("X-"+p+"-Event", "push")
			h.Set("X-"+p+"-Delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473")
		}
		h.Set("X-Gitea-Event-Type", "push")
		h.Set("X-Gitea-Signature", sign(key, body))
		h.Set("X-Gogs-Signature", sign(key, body))
		h.Set("X-Hub-Signature-256", "sha256="+sign(key, body))
	case "forgejo-push":
		for _, p := range []string{"Forgejo", "Gitea", "Gogs", "GitHub"} {
			h.Set("X-"+p+"-Event", "push")
			h.Set("X-"+p+"-Delivery", "0b9e3a2c-8d3e-4d5c-9f1a-3c2b1a0f9e8d")
		}
		h.Set("X-Forgejo-Signature", sign(key, body))
		h.Set("X-Gitea-Signature", sign(key, body))
	case "generic":
		h.Set("X-Signature", "sha256="+sign(key, body))
		h.Set("X-Delivery-ID", "build-4711")
	default:
		t.Fatalf("unknown provider %s", provider)
	}
	return r, body
}

func TestVerifyAcceptsEachSendersRealPayload(t *testing.T) {
	tests := []struct {
		provider, file string
		want           webhook.Event
	}{
		{"github-push", "github-push.json", webhook.Event{
			Provider: webhook.GitHub, Type: webhook.Push, Name: "push", DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			Ref: "refs/heads/main", After: "1f3a9c5e7b2d4f6a8c0e1d3b5a7c9e2f4a6b8d0c"}},
		{"github-ping", "github-ping.json", webhook.Event{
			Provider: webhook.GitHub, Type: webhook.Ping, Name: "ping", DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958"}},
		{"gitlab-push", "gitlab-push.json", webhook.Event{
			Provider: webhook.GitLab, Type: webhook.Push, Name: "Push Hook", DeliveryID: "f5e5f430-f57b-4e6e-9fac-d9128cd7232f",
			Ref: "refs/heads/main", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}},
		{"gitlab-tag-push", "gitlab-tag-push.json", webhook.Event{
			Provider: webhook.GitLab, Type: webhook.Push, Name: "Tag Push Hook", DeliveryID: "f5e5f430-f57b-4e6e-9fac-d9128cd7232f",
			Ref: "refs/tags/v1.0.0", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}},
		{"gitea-push", "gitea-push.json", webhook.Event{
			Provider: webhook.Gitea, Type: webhook.Push, Name: "push", DeliveryID: "f6266f16-1bf3-46a5-9ea4-602e06ead473",
			Ref: "refs/heads/main", After: "bffeb74224043ba2feb48d137756c8a9331c449a"}},
		{"forgejo-push", "gitea-push.json", webhook.Event{
			Provider: webhook.Gitea, Type: webhook.Push, Name: "push", DeliveryID: "0b9e3a2c-8d3e-4d5c-9f1a-3c2b1a0f9e8d",
			Ref: "refs/heads/main", After: "bffeb74224043ba2feb48d137756c8a9331c449a"}},
		{"generic", "github-push.json", webhook.Event{
			Provider: webhook.Generic, Type: webhook.Push, Name: "push", DeliveryID: "build-4711",
			Ref: "refs/heads/main", After: "1f3a9c5e7b2d4f6a8c0e1d3b5a7c9e2f4a6b8d0c"}},
		{"generic", "", webhook.Event{Provider: webhook.Generic, Type: webhook.Push, Name: "push", DeliveryID: "build-4711"}},
	}
	for _, tt := range tests {
		t.Run(tt.provider+" "+tt.file, func(t *testing.T) {
			r, body := request(t, tt.provider, tt.file, secret)
			got, err := webhook.Verify(r, body, secret)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVerifyReadsGitHubsFormEncodedPayload(t *testing.T) {
	body := []byte("payload=" + url.QueryEscape(string(payload(t, "github-push.json"))))
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-GitHub-Event", "push")
	r.Header.Set("X-Hub-Signature-256", "sha256="+sign(secret, body))
	ev, err := webhook.Verify(r, body, secret)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Branch() != "main" || ev.After != "1f3a9c5e7b2d4f6a8c0e1d3b5a7c9e2f4a6b8d0c" {
		t.Fatalf("got %+v, want a push of main at 1f3a9c5", ev)
	}
}

func TestVerifyRefusesABadSignature(t *testing.T) {
	providers := []struct{ provider, file, header string }{
		{"github-push", "github-push.json", "X-Hub-Signature-256"},
		{"gitlab-push", "gitlab-push.json", "X-Gitlab-Token"},
		{"gitea-push", "gitea-push.json", "X-Gitea-Signature"},
		{"forgejo-push", "gitea-push.json", "X-Forgejo-Signature"},
		{"generic", "github-push.json", "X-Signature"},
	}
	for _, p := range providers {
		t.Run(p.provider+" signed with another secret", func(t *testing.T) {
			r, body := request(t, p.provider, p.file, []byte("not the secret"))
			if _, err := webhook.Verify(r, body, secret); !errors.Is(err, webhook.ErrSignature) {
				t.Fatalf("got %v, want ErrSignature", err)
			}
		})
		t.Run(p.provider+" with a tampered body", func(t *testing.T) {
			r, body := request(t, p.provider, p.file, secret)
			tampered := []byte(strings.Replace(string(body), "refs/heads/main", "refs/heads/evil", 1))
			_, err := webhook.Verify(r, tampered, secret)
			if p.provider == "gitlab-push" {
				// GitLab sends a token, not a signature of the body.
				if err != nil {
					t.Fatalf("got %v, want the token to be accepted", err)
				}
				return
			}
			if !errors.Is(err, webhook.ErrSignature) {
				t.Fatalf("got %v, want ErrSignature", err)
			}
		})
		t.Run(p.provider+" without its signature header", func(t *testing.T) {
			r, body := request(t, p.provider, p.file, secret)
			r.Header.Del(p.header)
			if p.provider == "gitea-push" || p.provider == "forgejo-push" {
				r.Header.Del("X-Gitea-Signature")
				r.Header.Del("X-Gogs-Signature")
			}
			if _, err := webhook.Verify(r, body, secret); !errors.Is(err, webhook.ErrSignature) {
				t.Fatalf("got %v, want ErrSignature", err)
			}
		})
		t.Run(p.provider+" with a signature that is not hexadecimal", func(t *testing.T) {
			r, body := request(t, p.provider, p.file, secret)
			bad := "zz" + r.Header.Get(p.header)
			if strings.HasPrefix(r.Header.Get(p.header), "sha256=") {
				bad = "sha256=zz" + strings.TrimPrefix(r.Header.Get(p.header), "sha256=")
			}
			r.Header.Set(p.header, bad)
			if _, err := webhook.Verify(r, body, secret); !errors.Is(err, webhook.ErrSignature) {
				t.Fatalf("got %v, want ErrSignature", err)
			}
		})
	}
}

func TestVerifyRefusesRequestsItCannotAuthenticate(t *testing.T) {
	body := payload(t, "github-push.json")
	sha1sig := func() string {
		mac := hmac.New(sha1.New, secret)
		mac.Write(body)
		return "sha1=" + hex.EncodeToString(mac.Sum(nil))
	}()
	tests := []struct {
		name    string
		headers map[string]string
		secret  []byte
		want    error
	}{
		{"no sender headers at all", map[string]string{}, secret, webhook.ErrSignature},
		{"GitHub's SHA-1 signature alone", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature": sha1sig}, secret, webhook.ErrUnsupported},
		{"an empty configured secret", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": ""}, nil, webhook.ErrSignature},
		{"a generic signature without the sha256= prefix", map[string]string{"X-Signature": sign(secret, body)}, secret, webhook.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			if _, err := webhook.Verify(r, body, tt.secret); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyRefusesAnUnreadablePushPayload(t *testing.T) {
	body := []byte("{not json")
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
	r.Header.Set("X-GitHub-Event", "push")
	r.Header.Set("X-Hub-Signature-256", "sha256="+sign(secret, body))
	if _, err := webhook.Verify(r, body, secret); !errors.Is(err, webhook.ErrUnsupported) {
		t.Fatalf("got %v, want ErrUnsupported", err)
	}
}

func TestEventNamesItsBranchOrTag(t *testing.T) {
	tests := []struct {
		ev          webhook.Event
		branch, tag string
		deleted     bool
	}{
		{webhook.Event{Ref: "refs/heads/feature/x", After: "1f3a"}, "feature/x", "", false},
		{webhook.Event{Ref: "refs/tags/v1.0.0"}, "", "v1.0.0", false},
		{webhook.Event{Ref: "refs/heads/old", After: strings.Repeat("0", 40)}, "old", "", true},
		{webhook.Event{}, "", "", false},
	}
	for _, tt := range tests {
		if b, tg, d := tt.ev.Branch(), tt.ev.Tag(), tt.ev.Deleted(); b != tt.branch || tg != tt.tag || d != tt.deleted {
			t.Errorf("%+v: got branch %q tag %q deleted %v, want %q %q %v", tt.ev, b, tg, d, tt.branch, tt.tag, tt.deleted)
		}
	}
}

func TestHTTPStatusMapsTheErrors(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{webhook.ErrSignature, 401},
		{webhook.ErrTooLarge, 413},
		{webhook.ErrUnsupported, 400},
		{errors.New("other"), 500},
	}
	for _, tt := range tests {
		if got := webhook.HTTPStatus(tt.err); got != tt.want {
			t.Errorf("%v: got %d, want %d", tt.err, got, tt.want)
		}
	}
}
