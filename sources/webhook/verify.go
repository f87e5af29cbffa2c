package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Verify authenticates a webhook request whose body was read (ReadBody)
// against secret and returns the event it carries. The sender is
// recognised by its headers (see the package documentation). Errors wrap
// ErrSignature when the signature or token is missing or wrong (or secret
// is empty) and ErrUnsupported when the sender is unknown, the algorithm
// refused or the payload unreadable; the payload is parsed only after the
// signature is verified.
func Verify(r *http.Request, body []byte, secret []byte) (Event, error) {
	if len(secret) == 0 {
		return Event{}, fmt.Errorf("%w: no webhook secret configured", ErrSignature)
	}
	h := r.Header
	switch {
	case first(h, "X-Forgejo-Event", "X-Forgejo-Signature", "X-Gitea-Event", "X-Gitea-Signature", "X-Gogs-Event", "X-Gogs-Signature") != "":
		return verifyGitea(h, body, secret)
	case first(h, "X-Gitlab-Event", "X-Gitlab-Token") != "":
		return verifyGitLab(h, body, secret)
	case first(h, "X-GitHub-Event", "X-Hub-Signature-256", "X-Hub-Signature") != "":
		return verifyGitHub(h, body, secret)
	case h.Get("X-Signature") != "":
		return verifyGeneric(h, body, secret)
	default:
		return Event{}, fmt.Errorf("%w: no signature header (X-Hub-Signature-256, X-Gitlab-Token, X-Gitea-Signature, X-Signature)", ErrSignature)
	}
}

func verifyGitHub(h http.Header, body, secret []byte) (Event, error) {
	sig := h.Get("X-Hub-Signature-256")
	if sig == "" && h.Get("X-Hub-Signature") != "" {
		return Event{}, fmt.Errorf("%w: github: only the SHA-1 X-Hub-Signature was sent; X-Hub-Signature-256 is required", ErrUnsupported)
	}
	if err := checkPrefixedHMAC("github: X-Hub-Signature-256", sig, body, secret); err != nil {
		return Event{}, err
	}
	ev := Event{Provider: GitHub, Name: h.Get("X-GitHub-Event"), DeliveryID: h.Get("X-GitHub-Delivery")}
	switch ev.Name {
	case "push":
		ev.Type = Push
		payload, err := githubPayload(h, body)
		if err != nil {
			return Event{}, err
		}
		return withPush(ev, payload)
	case "ping":
		ev.Type = Ping
	default:
		ev.Type = Other
	}
	return ev, nil
}

// githubPayload unwraps the form encoding GitHub uses when a hook's content
// type is application/x-www-form-urlencoded.
func githubPayload(h http.Header, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: github: form body: %v", ErrUnsupported, err)
	}
	return []byte(form.Get("payload")), nil
}

func verifyGitLab(h http.Header, body, secret []byte) (Event, error) {
	token := h.Get("X-Gitlab-Token")
	if token == "" {
		return Event{}, fmt.Errorf("%w: gitlab: no X-Gitlab-Token", ErrSignature)
	}
	// Compare digests: equal length, so the comparison leaks nothing.
	a, b := sha256.Sum256([]byte(token)), sha256.Sum256(secret)
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return Event{}, fmt.Errorf("%w: gitlab: X-Gitlab-Token does not match", ErrSignature)
	}
	ev := Event{Provider: GitLab, Name: h.Get("X-Gitlab-Event"), DeliveryID: first(h, "Idempotency-Key", "X-Gitlab-Event-UUID")}
	switch ev.Name {
	case "Push Hook", "Tag Push Hook":
		ev.Type = Push
		return withPush(ev, body)
	default:
		ev.Type = Other
	}
	return ev, nil
}

func verifyGitea(h http.Header, body, secret []byte) (Event, error) {
	sig := first(h, "X-Forgejo-Signature", "X-Gitea-Signature", "X-Gogs-Signature")
	if sig == "" {
		return Event{}, fmt.Errorf("%w: gitea: no X-Gitea-Signature", ErrSignature)
	}
	if err := checkHMAC("gitea: X-Gitea-Signature", sig, body, secret); err != nil {
		return Event{}, err
	}
	ev := Event{
		Provider:   Gitea,
		Name:       first(h, "X-Forgejo-Event", "X-Gitea-Event", "X-Gogs-Event"),
		DeliveryID: first(h, "X-Forgejo-Delivery", "X-Gitea-Delivery", "X-Gogs-Delivery"),
	}
	if ev.Name != "push" {
		ev.Type = Other
		return ev, nil
	}
	ev.Type = Push
	return withPush(ev, body)
}

func verifyGeneric(h http.Header, body, secret []byte) (Event, error) {
	if err := checkPrefixedHMAC("generic: X-Signature", h.Get("X-Signature"), body, secret); err != nil {
		return Event{}, err
	}
	ev := Event{Provider: Generic, Type: Push, Name: "push", DeliveryID: h.Get("X-Delivery-ID")}
	if len(strings.TrimSpace(string(body))) == 0 {
		return ev, nil // a bare "sync now"
	}
	return withPush(ev, body)
}

// checkPrefixedHMAC checks a "sha256=<hex>" signature of body.
func checkPrefixedHMAC(what, sig string, body, secret []byte) error {
	if sig == "" {
		return fmt.Errorf("%w: %s missing", ErrSignature, what)
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return fmt.Errorf("%w: %s: want sha256=<hex>", ErrSignature, what)
	}
	return checkHMAC(what, hexSig, body, secret)
}

// checkHMAC compares a hex HMAC-SHA256 of body, in constant time.
func checkHMAC(what, hexSig string, body, secret []byte) error {
	got, err := hex.DecodeString(strings.TrimSpace(hexSig))
	if err != nil {
		return fmt.Errorf("%w: %s is not hexadecimal", ErrSignature, what)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body", ErrSignature, what)
	}
	return nil
}

// pushPayload holds the fields navarch reads from every sender's push
// payload; they share these names.
type pushPayload struct {
	Ref         string `json:"ref"`
	After       string `json:"after"`
	CheckoutSHA string `json:"checkout_sha"` // GitLab: the commit, also for annotated tags
}

func withPush(ev Event, body []byte) (Event, error) {
	var p pushPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return Event{}, fmt.Errorf("%w: %s push payload: %v", ErrUnsupported, ev.Provider, err)
	}
	ev.Ref, ev.After = p.Ref, p.After
	if p.CheckoutSHA != "" {
		ev.After = p.CheckoutSHA
	}
	return ev, nil
}

// first is the first non-empty value among the headers named.
func first(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}
