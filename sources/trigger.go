package sources

// Trigger coalesces wake-up signals: any number of Fire calls made while
// nobody is reading collapse into one pending signal on C. The zero value
// is not usable; create one with NewTrigger. A Trigger is safe for
// concurrent use.
type Trigger struct {
	c chan struct{}
}

// NewTrigger returns a Trigger with no pending signal.
func NewTrigger() *Trigger {
	return &Trigger{c: make(chan struct{}, 1)}
}

// Fire makes a signal pending unless one already is. It never blocks.
func (t *Trigger) Fire() {
	select {
	case t.c <- struct{}{}:
	default:
	}
}

// C is the channel a consumer reads pending signals from.
func (t *Trigger) C() <-chan struct{} {
	return t.c
}
