package etcdtest_test

import (
	"context"
	"testing"

	"github.com/navarch/navarch/internal/etcdtest"
	"github.com/navarch/navarch/store"
)

func TestStartGivesAReadyStore(t *testing.T) {
	s := etcdtest.Start(t)
	if err := s.Ready(context.Background()); err != nil {
		t.Fatalf("ready: %v", err)
	}
}

// BenchmarkStartAndClose measures what every test using Start pays.
func BenchmarkStartAndClose(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s, err := store.New(context.Background(), etcdtest.Options(b))
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
