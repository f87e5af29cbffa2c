package sources

import (
	"sync"
	"testing"
)

func TestTriggerCoalescesABurstIntoOneSignal(t *testing.T) {
	tr := NewTrigger()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); tr.Fire() }()
	}
	wg.Wait()

	got := 0
	for done := false; !done; {
		select {
		case <-tr.C():
			got++
		default:
			done = true
		}
	}
	if got != 1 {
		t.Fatalf("got %d signals after a burst of 50 fires, want 1", got)
	}
}

func TestTriggerSignalsAgainAfterTheConsumerRead(t *testing.T) {
	tr := NewTrigger()
	tr.Fire()
	<-tr.C()
	tr.Fire()
	select {
	case <-tr.C():
	default:
		t.Fatal("got no signal after a second fire, want one")
	}
}
