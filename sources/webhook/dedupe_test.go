package webhook_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/navarch/navarch/sources/webhook"
)

func TestDeduperRemembersRecentIDsAndForgetsTheOldest(t *testing.T) {
	d := webhook.NewDeduper(2)
	steps := []struct {
		id   string
		want bool
	}{
		{"a", false},
		{"a", true},
		{"b", false},
		{"a", true},  // a is now the most recent
		{"c", false}, // evicts b, the least recent
		{"a", true},
		{"b", false},
		{"", false},
		{"", false},
	}
	for i, s := range steps {
		if got := d.Seen(s.id); got != s.want {
			t.Fatalf("step %d, Seen(%q): got %v, want %v", i, s.id, got, s.want)
		}
	}
}

func TestDeduperCountsEachIDOnceUnderConcurrency(t *testing.T) {
	d := webhook.NewDeduper(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if !d.Seen(fmt.Sprint(j)) {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if fresh != 100 {
		t.Fatalf("got %d first sightings of 100 ids, want 100", fresh)
	}
}
