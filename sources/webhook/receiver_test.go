package webhook_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/navarch/navarch/sources"
	"github.com/navarch/navarch/sources/webhook"
)

// receiver is the request flow the API server runs for one Source that
// follows branch main: read, verify, drop replays, trigger a sync.
func receiver(d *webhook.Deduper, trigger *sources.Trigger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.ReadBody(w, r, 0)
		if err != nil {
			http.Error(w, err.Error(), webhook.HTTPStatus(err))
			return
		}
		ev, err := webhook.Verify(r, body, secret)
		if err != nil {
			http.Error(w, err.Error(), webhook.HTTPStatus(err))
			return
		}
		if d.Seen("navarch-system/shop/" + ev.DeliveryID) {
			fmt.Fprintln(w, "duplicate delivery ignored")
			return
		}
		if ev.Type == webhook.Push && ev.Branch() == "main" {
			trigger.Fire()
			w.WriteHeader(http.StatusAccepted)
			return
		}
		fmt.Fprintln(w, "nothing to do")
	})
}

func startReceiver(t *testing.T) (*httptest.Server, *sources.Trigger) {
	t.Helper()
	trigger := sources.NewTrigger()
	srv := httptest.NewServer(receiver(webhook.NewDeduper(0), trigger))
	t.Cleanup(srv.Close)
	return srv, trigger
}

// send posts a delivery built by request to srv and returns the status.
func send(t *testing.T, srv *httptest.Server, provider, file string, key []byte, deliveryID string) int {
	t.Helper()
	r, body := request(t, provider, file, key)
	out, err := http.NewRequest(http.MethodPost, srv.URL+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out.Header = r.Header.Clone()
	if deliveryID != "" {
		for _, h := range []string{"X-GitHub-Delivery", "Idempotency-Key", "X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Delivery-ID"} {
			if out.Header.Get(h) != "" {
				out.Header.Set(h, deliveryID)
			}
		}
	}
	resp, err := srv.Client().Do(out)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func pending(tr *sources.Trigger) int {
	n := 0
	for {
		select {
		case <-tr.C():
			n++
		default:
			return n
		}
	}
}

func TestReceiverTriggersOnceAndIgnoresAReplayedDelivery(t *testing.T) {
	for _, p := range []struct{ provider, file string }{
		{"github-push", "github-push.json"},
		{"gitlab-push", "gitlab-push.json"},
		{"gitea-push", "gitea-push.json"},
		{"forgejo-push", "gitea-push.json"},
		{"generic", "github-push.json"},
	} {
		t.Run(p.provider, func(t *testing.T) {
			srv, trigger := startReceiver(t)
			if got := send(t, srv, p.provider, p.file, secret, ""); got != http.StatusAccepted {
				t.Fatalf("first delivery: got %d, want 202", got)
			}
			if got := pending(trigger); got != 1 {
				t.Fatalf("first delivery: got %d syncs triggered, want 1", got)
			}
			if got := send(t, srv, p.provider, p.file, secret, ""); got != http.StatusOK {
				t.Fatalf("replayed delivery: got %d, want 200", got)
			}
			if got := pending(trigger); got != 0 {
				t.Fatalf("replayed delivery: got %d syncs triggered, want 0", got)
			}
		})
	}
}

func TestReceiverAnswersABadSignatureWith401AndDoesNothing(t *testing.T) {
	for _, p := range []struct{ provider, file string }{
		{"github-push", "github-push.json"},
		{"gitlab-push", "gitlab-push.json"},
		{"gitea-push", "gitea-push.json"},
		{"generic", "github-push.json"},
	} {
		t.Run(p.provider, func(t *testing.T) {
			srv, trigger := startReceiver(t)
			if got := send(t, srv, p.provider, p.file, []byte("forged"), ""); got != http.StatusUnauthorized {
				t.Fatalf("got %d, want 401", got)
			}
			if got := pending(trigger); got != 0 {
				t.Fatalf("got %d syncs triggered, want 0", got)
			}
			// The forged delivery must not have been remembered: the
			// genuine one with the same id still triggers.
			if got := send(t, srv, p.provider, p.file, secret, ""); got != http.StatusAccepted {
				t.Fatalf("genuine delivery after a forged one: got %d, want 202", got)
			}
		})
	}
}

func TestReceiverAnswersAPingWithoutSyncing(t *testing.T) {
	srv, trigger := startReceiver(t)
	if got := send(t, srv, "github-ping", "github-ping.json", secret, ""); got != http.StatusOK {
		t.Fatalf("got %d, want 200", got)
	}
	if got := pending(trigger); got != 0 {
		t.Fatalf("got %d syncs triggered, want 0", got)
	}
}

func TestReceiverCoalescesABurstOfPushesIntoOneSync(t *testing.T) {
	srv, trigger := startReceiver(t)
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- send(t, srv, "github-push", "github-push.json", secret, fmt.Sprintf("delivery-%d", i))
		}()
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusAccepted {
			t.Fatalf("got %d, want 202 for every delivery", code)
		}
	}
	if got := pending(trigger); got != 1 {
		t.Fatalf("got %d syncs pending after 20 pushes, want 1", got)
	}
}

func TestReadBodyRefusesBodiesOverTheLimit(t *testing.T) {
	srv, _ := startReceiver(t)
	tests := []struct {
		name   string
		body   io.Reader
		length int64
		want   int
	}{
		{"a declared length over 1 MiB", strings.NewReader(strings.Repeat("x", webhook.DefaultMaxBody+1)), webhook.DefaultMaxBody + 1, http.StatusRequestEntityTooLarge},
		{"a chunked body over 1 MiB", io.MultiReader(strings.NewReader(strings.Repeat("x", webhook.DefaultMaxBody+1))), -1, http.StatusRequestEntityTooLarge},
		{"a body of exactly 1 MiB, unsigned", strings.NewReader(strings.Repeat("x", webhook.DefaultMaxBody)), webhook.DefaultMaxBody, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/navarch-system/shop", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tt.length
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-Hub-Signature-256", "sha256=00")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
