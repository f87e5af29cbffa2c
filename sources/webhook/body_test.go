package webhook_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/navarch/navarch/sources/webhook"
)

func TestReadBodyRefusesBodiesOverTheLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.ReadBody(w, r, 0)
		if err != nil {
			http.Error(w, err.Error(), webhook.HTTPStatus(err))
			return
		}
		io.WriteString(w, strings.Repeat("y", len(body)))
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name   string
		body   io.Reader
		length int64
		want   int
	}{
		{"a declared length over 1 MiB", strings.NewReader(strings.Repeat("x", webhook.DefaultMaxBody+1)), webhook.DefaultMaxBody + 1, http.StatusRequestEntityTooLarge},
		{"a chunked body over 1 MiB", io.MultiReader(strings.NewReader(strings.Repeat("x", webhook.DefaultMaxBody+1))), -1, http.StatusRequestEntityTooLarge},
		{"a body of exactly 1 MiB", strings.NewReader(strings.Repeat("x", webhook.DefaultMaxBody)), webhook.DefaultMaxBody, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/navarch-system/shop", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tt.length
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusOK && len(got) != webhook.DefaultMaxBody {
				t.Errorf("got a body of %d bytes read, want %d", len(got), webhook.DefaultMaxBody)
			}
		})
	}
}
