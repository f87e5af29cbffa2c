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
	// Netlink lists the table's object names (Verify) in milliseconds where
	// `nft -j list table` takes a second for 1,000 Services.
	nft, err := knftables.New(knftables.IPv4Family, table, knftables.UseNetlink)
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
	for name := range a.stale {
		want["chain"] = append(want["chain"], name)
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
