package reconciler

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/sources/webhook"
)

const hookToken = "s3cr3t-hook-token"

// delivery is a webhook request as a Git host sends it: the host's real
// payload (from sources/webhook/testdata) with the pushed commit, and its
// headers.
func delivery(t testing.TB, provider, commit, id string, token []byte) (http.Header, []byte) {
	t.Helper()
	file := map[string]string{"github": "github-push.json", "gitlab": "gitlab-push.json", "gitea": "gitea-push.json"}[provider]
	raw, err := os.ReadFile(filepath.Join("..", "sources", "webhook", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	payload["after"] = commit
	if _, ok := payload["checkout_sha"]; ok {
		payload["checkout_sha"] = commit
	}
	body, err := json.MarshalIndent(payload, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, token)
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	h := http.Header{"Content-Type": {"application/json"}}
	switch provider {
	case "github":
		h.Set("X-GitHub-Event", "push")
		h.Set("X-GitHub-Delivery", id)
		h.Set("X-Hub-Signature-256", "sha256="+sig)
	case "gitlab":
		h.Set("X-Gitlab-Event", "Push Hook")
		h.Set("Idempotency-Key", id)
		h.Set("X-Gitlab-Token", string(token))
	case "gitea":
		h.Set("X-Gitea-Event", "push")
		h.Set("X-Gitea-Delivery", id)
		h.Set("X-Gitea-Signature", sig)
		h.Set("X-GitHub-Event", "push")
		h.Set("X-Hub-Signature-256", "sha256="+sig)
	}
	return h, body
}

// post sends a webhook to the API server without credentials and returns
// the status code.
func (e *env) post(path string, h http.Header, body []byte) int {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL()+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header = h
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (e *env) createWebhookSecret() {
	e.t.Helper()
	_, err := e.kube.CoreV1().Secrets("navarch-system").Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-hook"},
		Data:       map[string][]byte{WebhookTokenKey: []byte(hookToken)},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
}

func withWebhook(s *gitopsv1alpha1.Source) {
	s.Spec.Webhook = &gitopsv1alpha1.WebhookSpec{SecretRef: gitopsv1alpha1.LocalObjectReference{Name: "shop-hook"}}
}

func TestWebhooksFromEachHostSyncAtOnceAndBadOnesDoNothing(t *testing.T) {
	e := newEnv(t)
	e.createWebhookSecret()
	cm := func(v string) map[string]string {
		return map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hooked}\ndata: {v: \"" + v + "\"}\n"}
	}
	first := e.repo.CommitAndPush("v0", cm("v0"))
	e.createSource("shop", "", withWebhook)
	e.waitReady("shop", first)
	const path = WebhookPath + "navarch-system/shop"

	for _, provider := range []string{"github", "gitlab", "gitea"} {
		// A bad signature: 401, and the new commit is not fetched. Its
		// delivery id is the genuine delivery's below: a forged delivery
		// is not remembered, so it cannot shadow the real one.
		commit := e.repo.CommitAndPush(provider, cm(provider))
		h, body := delivery(t, provider, commit, provider+"-1", []byte("wrong token"))
		if code := e.post(path, h, body); code != http.StatusUnauthorized {
			t.Errorf("%s: got %d for a bad signature, want 401", provider, code)
		}
		time.Sleep(300 * time.Millisecond)
		if src, _ := e.sources.Get(context.Background(), "navarch-system", "shop"); src.Status.LastAttemptedRevision == "main@sha1:"+commit {
			t.Fatalf("%s: a delivery with a bad signature fetched %s", provider, commit)
		}

		// A valid push: synced at once.
		h, body = delivery(t, provider, commit, provider+"-1", []byte(hookToken))
		if code := e.post(path, h, body); code != http.StatusAccepted {
			t.Fatalf("%s: got %d for a valid push, want 202", provider, code)
		}
		e.waitReady("shop", commit)

		// The same delivery again, after another commit: ignored.
		later := e.repo.CommitAndPush(provider+" again", cm(provider+"-again"))
		if code := e.post(path, h, body); code != http.StatusOK {
			t.Errorf("%s: got %d for a replayed delivery, want 200", provider, code)
		}
		time.Sleep(300 * time.Millisecond)
		if src, _ := e.sources.Get(context.Background(), "navarch-system", "shop"); src.Status.LastAttemptedRevision == "main@sha1:"+later {
			t.Errorf("%s: a replayed delivery fetched %s", provider, later)
		}
		h, body = delivery(t, provider, later, provider+"-2", []byte(hookToken))
		if code := e.post(path, h, body); code != http.StatusAccepted {
			t.Fatalf("%s: got %d for a new delivery, want 202", provider, code)
		}
		e.waitReady("shop", later)
	}
}

// sign sets GitHub's signature of body with the hook's token.
func sign(h http.Header, body []byte) {
	mac := hmac.New(sha256.New, []byte(hookToken))
	mac.Write(body)
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
}

func TestWebhookThatAsksForNoSyncIsAnsweredAndIgnored(t *testing.T) {
	e := newEnv(t)
	e.createWebhookSecret()
	first := e.repo.CommitAndPush("v0", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
	e.createSource("shop", "", withWebhook)
	e.waitReady("shop", first)

	// Every request below would fetch this commit if it asked for a sync.
	later := e.repo.CommitAndPush("v1", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"})
	const path = WebhookPath + "navarch-system/shop"

	h, body := delivery(t, "github", later, "other-branch", []byte(hookToken))
	body = bytes.Replace(body, []byte(`"refs/heads/main"`), []byte(`"refs/heads/feature"`), 1)
	sign(h, body)
	if code := e.post(path, h, body); code != http.StatusOK {
		t.Errorf("got %d for a push to another branch, want 200", code)
	}
	ping, err := os.ReadFile(filepath.Join("..", "sources", "webhook", "testdata", "github-ping.json"))
	if err != nil {
		t.Fatal(err)
	}
	h = http.Header{"Content-Type": {"application/json"}, "X-Github-Event": {"ping"}, "X-Github-Delivery": {"ping-1"}}
	sign(h, ping)
	if code := e.post(path, h, ping); code != http.StatusOK {
		t.Errorf("got %d for a ping, want 200", code)
	}
	h, body = delivery(t, "github", later, "unknown", []byte(hookToken))
	if code := e.post(WebhookPath+"navarch-system/nope", h, body); code != http.StatusUnauthorized {
		t.Errorf("got %d for an unknown source, want 401", code)
	}
	if code := e.post(path, http.Header{}, []byte("{}")); code != http.StatusUnauthorized {
		t.Errorf("got %d for a request without signature, want 401", code)
	}
	// A body over the limit is refused before it is read whole, however
	// well it is signed.
	h, body = delivery(t, "github", later, "too-large", []byte(hookToken))
	body = append(body, bytes.Repeat([]byte(" "), webhook.DefaultMaxBody)...)
	sign(h, body)
	if code := e.post(path, h, body); code != http.StatusRequestEntityTooLarge {
		t.Errorf("got %d for a body over %d bytes, want 413", code, webhook.DefaultMaxBody)
	}
	time.Sleep(300 * time.Millisecond)
	if src, _ := e.sources.Get(context.Background(), "navarch-system", "shop"); src.Status.LastAttemptedRevision != "main@sha1:"+first {
		t.Errorf("got attempted revision %s, want %s: a request that asks for no sync fetched", src.Status.LastAttemptedRevision, first)
	}
}
