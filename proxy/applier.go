package proxy

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/knftables"
)

// staleChainDelay is how long an emptied chain waits before it is
// deleted: kernels before 6.2 notice only a moment later that a chain is
// no longer referenced by a map element deleted in an earlier
// transaction, and refuse to delete it until then (kube-proxy waits the
// same way).
const staleChainDelay = time.Second

// Applier writes rulesets into one nftables table through the nft binary
// (sigs.k8s.io/knftables). The first Apply, and the first after a failure,
// replaces the whole table in one transaction; later ones write only what
// changed since the ruleset last applied. Not safe for concurrent use.
type Applier struct {
	nft   knftables.Interface
	now   func() time.Time
	last  *Ruleset
	stale map[string]time.Time // emptied chains, by when
}

// ApplyResult says what an Apply did.
type ApplyResult struct {
	// Full is true when the whole table was written anew.
	Full bool
	// Operations is the number of nft commands of the transaction (0
	// when nothing had changed).
	Operations int
}

// NewApplier returns an Applier of the ip-family table name. It fails
// when the nft binary is missing, too old (before 1.0.1) or not allowed to
// change the ruleset.
func NewApplier(table string) (*Applier, error) {
	nft, err := knftables.New(knftables.IPv4Family, table)
	if err != nil {
		return nil, fmt.Errorf("nftables table %s: %w", table, err)
	}
	return newApplier(nft, time.Now), nil
}

func newApplier(nft knftables.Interface, now func() time.Time) *Applier {
	return &Applier{nft: nft, now: now, stale: map[string]time.Time{}}
}

// Apply makes the table hold rs. On failure the table is as it was (nft
// transactions are atomic) and the next Apply replaces it whole.
func (a *Applier) Apply(ctx context.Context, rs *Ruleset) (ApplyResult, error) {
	tx := a.nft.NewTransaction()
	var d *delta
	full := a.last == nil
	if !full {
		var ok bool
		d, ok = diff(a.last, rs)
		full = !ok
	}
	now := a.now()
	var expired []string
	if full {
		fullTransaction(tx, rs)
	} else {
		stale := make(map[string]bool, len(a.stale))
		for name := range a.stale {
			stale[name] = true
		}
		d.write(tx, stale)
		back := map[string]bool{}
		for _, c := range d.newChains {
			back[c.def.Name] = true
		}
		for name, since := range a.stale {
			if !back[name] && now.Sub(since) >= staleChainDelay {
				expired = append(expired, name)
				tx.Delete(&knftables.Chain{Name: name})
			}
		}
	}
	res := ApplyResult{Full: full, Operations: tx.NumOperations()}
	if res.Operations > 0 {
		if err := a.nft.Run(ctx, tx); err != nil {
			a.last = nil
			return res, fmt.Errorf("apply nftables transaction of %d operations: %w", res.Operations, err)
		}
	}
	a.last = rs
	if full {
		clear(a.stale)
		return res, nil
	}
	for _, name := range expired {
		delete(a.stale, name)
	}
	for _, c := range d.newChains {
		delete(a.stale, c.def.Name)
	}
	for _, name := range d.delChains {
		a.stale[name] = now
	}
	return res, nil
}

// Reset makes the next Apply replace the whole table.
func (a *Applier) Reset() { a.last = nil }

// StaleChains returns how many emptied chains wait to be deleted.
func (a *Applier) StaleChains() int { return len(a.stale) }

// Cleanup deletes the ip-family table name and everything in it. A table
// that does not exist is not an error.
func Cleanup(ctx context.Context, table string) error {
	nft, err := knftables.New(knftables.IPv4Family, table)
	if err != nil {
		return fmt.Errorf("nftables table %s: %w", table, err)
	}
	return deleteTable(ctx, nft)
}

func deleteTable(ctx context.Context, nft knftables.Interface) error {
	tx := nft.NewTransaction()
	tx.Delete(&knftables.Table{})
	if err := nft.Run(ctx, tx); err != nil && !knftables.IsNotFound(err) {
		return fmt.Errorf("delete nftables table: %w", err)
	}
	return nil
}
