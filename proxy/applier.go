package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
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
// (sigs.k8s.io/knftables). The first Apply, and the first after a failure
// or a Reset, is a full one: it adopts the table as it finds it, writing
// all but the Service chains and affinity sets it holds already (their
// names tell their content), or replaces it whole when adopting fails or
// there is no table. Later ones write only what changed since the ruleset
// last applied. Not safe for concurrent use.
type Applier struct {
	nft         knftables.Interface
	now         func() time.Time
	last        *Ruleset
	staleChains map[string]time.Time // left the ruleset, by when
	staleSets   map[string]time.Time
}

// ApplyResult says what an Apply did.
type ApplyResult struct {
	// Full is true when the whole table was written (adopted or replaced).
	Full bool
	// Replaced is true when the table was deleted and written anew.
	Replaced bool
	// Operations is the number of nft commands of the transaction (0
	// when nothing had changed).
	Operations int
}

// NewApplier returns an Applier of the ip-family table name. It fails
// when the nft binary is missing, too old (before 1.0.1) or not allowed to
// change the ruleset.
func NewApplier(table string) (*Applier, error) {
	// Netlink lists the table's object names in tens of milliseconds where
	// `nft -j list table` takes a second for 1,000 Services.
	nft, err := knftables.New(knftables.IPv4Family, table, knftables.UseNetlink)
	if err != nil {
		return nil, fmt.Errorf("nftables table %s: %w", table, err)
	}
	return newApplier(nft, time.Now), nil
}

func newApplier(nft knftables.Interface, now func() time.Time) *Applier {
	return &Applier{nft: nft, now: now, staleChains: map[string]time.Time{}, staleSets: map[string]time.Time{}}
}

// Apply makes the table hold rs. On failure the table is as it was (nft
// transactions are atomic) and the next Apply is a full one.
func (a *Applier) Apply(ctx context.Context, rs *Ruleset) (ApplyResult, error) {
	now := a.now()
	if a.last == nil {
		return a.applyFull(ctx, rs, now)
	}
	d, ok := diff(a.last, rs)
	if !ok {
		return a.applyFull(ctx, rs, now)
	}
	tx := a.nft.NewTransaction()
	d.write(tx, a.staleChains)
	back := map[string]bool{}
	for _, c := range d.newChains {
		back[c.def.Name] = true
	}
	for _, st := range d.addSets {
		back[st.Name] = true
	}
	chains, sets := a.expireStale(tx, now, back)
	res := ApplyResult{Operations: tx.NumOperations()}
	if res.Operations > 0 {
		if err := a.nft.Run(ctx, tx); err != nil {
			a.last = nil
			return res, fmt.Errorf("apply nftables transaction of %d operations: %w", res.Operations, err)
		}
	}
	a.last = rs
	for _, n := range chains {
		delete(a.staleChains, n)
	}
	for _, n := range sets {
		delete(a.staleSets, n)
	}
	for name := range back {
		delete(a.staleChains, name)
		delete(a.staleSets, name)
	}
	for _, n := range d.delChains {
		a.staleChains[n] = now
	}
	for _, n := range d.delSets {
		a.staleSets[n] = now
	}
	return res, nil
}

// expireStale writes into tx the deletion of the chains and sets that left
// the ruleset at least staleChainDelay ago and are not coming back: the
// chains are flushed first (their rules may refer to each other and to the
// sets), then deleted, then the sets. A set waits while a chain that left
// later than it still waits, as that chain may refer to it.
func (a *Applier) expireStale(tx *knftables.Transaction, now time.Time, back map[string]bool) (chains, sets []string) {
	waiting := false
	for name, since := range a.staleChains {
		if back[name] {
			continue
		}
		if now.Sub(since) < staleChainDelay {
			waiting = true
			continue
		}
		chains = append(chains, name)
	}
	slices.Sort(chains)
	for _, name := range chains {
		tx.Flush(&knftables.Chain{Name: name})
	}
	for _, name := range chains {
		tx.Delete(&knftables.Chain{Name: name})
	}
	if waiting {
		return chains, nil
	}
	for name, since := range a.staleSets {
		if !back[name] && now.Sub(since) >= staleChainDelay {
			sets = append(sets, name)
		}
	}
	slices.Sort(sets)
	for _, name := range sets {
		tx.Delete(&knftables.Set{Name: name})
	}
	return chains, sets
}

// applyFull adopts the table as it is, or replaces it whole when it does
// not exist or adopting fails.
func (a *Applier) applyFull(ctx context.Context, rs *Ruleset, now time.Time) (ApplyResult, error) {
	a.last = nil
	if existing, err := a.nft.ListAll(ctx); err == nil {
		tx := a.nft.NewTransaction()
		chains, sets := adoptTransaction(tx, rs, existing)
		res := ApplyResult{Full: true, Operations: tx.NumOperations()}
		if err := a.nft.Run(ctx, tx); err == nil {
			a.last = rs
			clear(a.staleChains)
			clear(a.staleSets)
			for _, n := range chains {
				a.staleChains[n] = now
			}
			for _, n := range sets {
				a.staleSets[n] = now
			}
			return res, nil
		}
	}
	tx := a.nft.NewTransaction()
	fullTransaction(tx, rs)
	res := ApplyResult{Full: true, Replaced: true, Operations: tx.NumOperations()}
	if err := a.nft.Run(ctx, tx); err != nil {
		return res, fmt.Errorf("replace nftables table (%d operations): %w", res.Operations, err)
	}
	a.last = rs
	clear(a.staleChains)
	clear(a.staleSets)
	return res, nil
}

// Reset makes the next Apply a full one.
func (a *Applier) Reset() { a.last = nil }

// StaleChains returns how many chains and sets wait to be deleted.
func (a *Applier) StaleChains() int { return len(a.staleChains) + len(a.staleSets) }

// Cleanup removes what a Proxier made on this host: the ip-family table
// and everything in it, and the local routes of the given Service CIDRs
// (net.ipv4.conf.all.route_localnet is left as it is). What is already
// gone is not an error.
func Cleanup(ctx context.Context, table string, serviceCIDRs ...string) error {
	var errs []error
	for _, s := range serviceCIDRs {
		cidr, err := netip.ParsePrefix(s)
		if err == nil {
			err = removeLocalRoute(ctx, cidr.Masked())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("service CIDR %s: %w", s, err))
		}
	}
	nft, err := knftables.New(knftables.IPv4Family, table)
	if err != nil {
		errs = append(errs, fmt.Errorf("nftables table %s: %w", table, err))
	} else {
		errs = append(errs, deleteTable(ctx, nft))
	}
	return errors.Join(errs...)
}

func deleteTable(ctx context.Context, nft knftables.Interface) error {
	tx := nft.NewTransaction()
	tx.Delete(&knftables.Table{})
	if err := nft.Run(ctx, tx); err != nil && !knftables.IsNotFound(err) {
		return fmt.Errorf("delete nftables table: %w", err)
	}
	return nil
}

// Verify reports whether the table still holds the chains, sets and maps
// the last Apply left there. It compares names only: a rule changed
// behind the applier's back goes unnoticed. Before any Apply it reports
// true.
func (a *Applier) Verify(ctx context.Context) (bool, error) {
	if a.last == nil {
		return true, nil
	}
	all, err := a.nft.ListAll(ctx)
	if err != nil && (knftables.IsNotFound(err) || errors.Is(err, syscall.ENOENT) ||
		// knftables' netlink listing flattens ENOENT into its message.
		strings.Contains(err.Error(), syscall.ENOENT.Error())) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("list nftables table: %w", err)
	}
	want := objectNames(a.last)
	for name := range a.staleChains {
		want["chain"] = append(want["chain"], name)
	}
	for name := range a.staleSets {
		want["set"] = append(want["set"], name)
	}
	for _, kind := range []string{"chain", "set", "map"} {
		// Anonymous sets and maps (of rules' literal sets and vmaps),
		// which netlink lists too, are named __set<n> and __map<n>.
		got := slices.DeleteFunc(slices.Clone(all[kind]), func(n string) bool { return strings.HasPrefix(n, "__") })
		slices.Sort(got)
		slices.Sort(want[kind])
		if !slices.Equal(got, want[kind]) {
			return false, nil
		}
	}
	return true, nil
}

// objectNames returns the names of rs's chains, sets and maps by kind.
func objectNames(rs *Ruleset) map[string][]string {
	out := map[string][]string{}
	add := func(f *fragment) {
		for _, c := range f.chains {
			out["chain"] = append(out["chain"], c.def.Name)
		}
		for _, s := range f.sets {
			out["set"] = append(out["set"], s.Name)
		}
		for _, m := range f.maps {
			out["map"] = append(out["map"], m.Name)
		}
	}
	add(rs.base)
	for _, f := range rs.services {
		add(f)
	}
	return out
}
