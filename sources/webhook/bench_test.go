package webhook_test

import (
	"testing"

	"github.com/navarch/navarch/sources/webhook"
)

func BenchmarkVerifyGitHubPush(b *testing.B) {
	r, body := request(b, "github-push", "github-push.json", secret)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := webhook.Verify(r, body, secret); err != nil {
			b.Fatal(err)
		}
	}
}
