package proxy

import (
	"strings"
	"time"

	"sigs.k8s.io/knftables"
)

// fullTransaction writes into tx what replaces the table with rs, in one
// atomic step: the table (created first, so that it exists) is deleted
// and written anew.
func fullTransaction(tx *knftables.Transaction, rs *Ruleset) {
	tx.Add(&knftables.Table{})
	tx.Delete(&knftables.Table{})
	tx.Add(rs.table)
	frags := rs.fragments()
	for _, f := range frags {
		for _, s := range f.sets {
			tx.Add(s)
		}
		for _, m := range f.maps {
			tx.Add(m)
		}
		for _, c := range f.chains {
			tx.Add(c.def)
		}
	}
	for _, f := range frags {
		for _, c := range f.chains {
			for _, r := range c.rules {
				tx.Add(r)
			}
		}
	}
	for _, f := range frags {
		for _, e := range f.elements {
			tx.Add(e)
		}
	}
}

// delta is the difference between two rulesets, gathered Service by
// Service and written out in an order nftables accepts: elements leave
// their maps before others take their keys, and chains and sets exist
// before rules and elements refer to them.
type delta struct {
	delElements []*knftables.Element
	addSets     []*knftables.Set
	newChains   []*chain
	changed     []*chain
	addElements []*knftables.Element
	delChains   []string // deleted by a later transaction
	delSets     []string // likewise
}

// diff gathers the delta from old to rs, and reports false when it cannot
// be expressed as one (the fixed objects, or a set's definition, changed):
// then only a full transaction will do.
func diff(old, rs *Ruleset) (*delta, bool) {
	if old.base != rs.base || !ptrEqual(old.table.Comment, rs.table.Comment) {
		return nil, false
	}
	d := &delta{}
	for _, key := range sortedKeys(rs.services) {
		f := rs.services[key]
		if o := old.services[key]; o != f && !d.fragment(o, f) {
			return nil, false
		}
	}
	for _, key := range sortedKeys(old.services) {
		if _, ok := rs.services[key]; !ok {
			d.fragment(old.services[key], nil)
		}
	}
	return d, true
}

// fragment adds the difference between two fragments of one Service
// (either may be nil).
func (d *delta) fragment(old, f *fragment) bool {
	if old == nil {
		old = &fragment{}
	}
	if f == nil {
		f = &fragment{}
	}
	oldElems := make(map[string]*knftables.Element, len(old.elements))
	for _, e := range old.elements {
		oldElems[elementID(e)] = e
	}
	for _, e := range f.elements {
		id := elementID(e)
		o, ok := oldElems[id]
		delete(oldElems, id)
		if ok && elementsEqual(o, e) {
			continue
		}
		if ok {
			d.delElements = append(d.delElements, o)
		}
		d.addElements = append(d.addElements, e)
	}
	for _, o := range old.elements {
		if _, gone := oldElems[elementID(o)]; gone {
			d.delElements = append(d.delElements, o)
		}
	}

	oldSets := make(map[string]*knftables.Set, len(old.sets))
	for _, s := range old.sets {
		oldSets[s.Name] = s
	}
	for _, s := range f.sets {
		o, ok := oldSets[s.Name]
		delete(oldSets, s.Name)
		switch {
		case !ok:
			d.addSets = append(d.addSets, s)
		case !setsEqual(o, s):
			return false
		}
	}
	for _, o := range old.sets {
		if _, gone := oldSets[o.Name]; gone {
			d.delSets = append(d.delSets, o.Name)
		}
	}

	oldChains := make(map[string]*chain, len(old.chains))
	for _, c := range old.chains {
		oldChains[c.def.Name] = c
	}
	for _, c := range f.chains {
		o, ok := oldChains[c.def.Name]
		delete(oldChains, c.def.Name)
		switch {
		case !ok:
			d.newChains = append(d.newChains, c)
		case !rulesEqual(o.rules, c.rules):
			d.changed = append(d.changed, c)
		}
	}
	for _, o := range old.chains {
		if _, gone := oldChains[o.def.Name]; gone {
			d.delChains = append(d.delChains, o.def.Name)
		}
	}
	return true
}

// empty reports whether the delta changes nothing.
func (d *delta) empty() bool {
	return len(d.delElements)+len(d.addSets)+len(d.newChains)+len(d.changed)+
		len(d.addElements)+len(d.delChains)+len(d.delSets) == 0
}

// write writes the delta into tx. Chains and sets that leave the ruleset
// are not touched: they are no longer referenced once the transaction
// commits, and a later transaction empties and deletes them (see
// expireStale). A chain that comes back while it waits for that is
// flushed and filled again.
func (d *delta) write(tx *knftables.Transaction, stale map[string]time.Time) {
	for _, e := range d.delElements {
		tx.Delete(e)
	}
	for _, s := range d.addSets {
		tx.Add(s)
	}
	for _, c := range d.newChains {
		tx.Add(c.def)
		if _, ok := stale[c.def.Name]; ok {
			tx.Flush(c.def)
		}
	}
	for _, c := range d.changed {
		tx.Flush(c.def)
	}
	for _, c := range append(d.newChains[:len(d.newChains):len(d.newChains)], d.changed...) {
		for _, r := range c.rules {
			tx.Add(r)
		}
	}
	for _, e := range d.addElements {
		tx.Add(e)
	}
}

// adoptTransaction writes into tx what makes a table that exists already,
// holding the objects named in existing (by kind: "chain", "set", "map"),
// hold rs, without rewriting what it holds already: Service chains and
// affinity sets are content-addressed (see hashed), so one found under its
// name holds what rs wants and is left alone, affinity entries included.
// The fixed chains are flushed and written again, maps and the fixed sets
// flushed and filled again. Chains and sets of the table that rs does not
// have are returned, to be deleted later like any that leaves the ruleset.
// A fixed object whose definition differs makes nft refuse the
// transaction; the caller then replaces the table.
func adoptTransaction(tx *knftables.Transaction, rs *Ruleset, existing map[string][]string) (staleChains, staleSets []string) {
	has := map[string]bool{}
	for kind, names := range existing {
		for _, n := range names {
			has[kind+" "+n] = true
		}
	}
	want := map[string]bool{}
	tx.Add(rs.table)
	frags := rs.fragments()
	var fill []*chain
	for _, f := range frags {
		for _, st := range f.sets {
			want["set "+st.Name] = true
			if !has["set "+st.Name] || !isServiceObject(st.Name) {
				tx.Add(st)
			}
			if has["set "+st.Name] && !isServiceObject(st.Name) {
				tx.Flush(st)
			}
		}
		for _, m := range f.maps {
			want["map "+m.Name] = true
			tx.Add(m)
			if has["map "+m.Name] {
				tx.Flush(m)
			}
		}
	}
	for _, f := range frags {
		for _, c := range f.chains {
			want["chain "+c.def.Name] = true
			switch {
			case !has["chain "+c.def.Name]:
				tx.Add(c.def)
				fill = append(fill, c)
			case !isServiceObject(c.def.Name):
				tx.Add(c.def)
				tx.Flush(c.def)
				fill = append(fill, c)
			}
		}
	}
	for _, c := range fill {
		for _, r := range c.rules {
			tx.Add(r)
		}
	}
	for _, f := range frags {
		for _, e := range f.elements {
			tx.Add(e)
		}
	}
	for _, n := range existing["chain"] {
		if !want["chain "+n] {
			staleChains = append(staleChains, n)
		}
	}
	for _, n := range existing["set"] {
		if !want["set "+n] && !strings.HasPrefix(n, "__") {
			staleSets = append(staleSets, n)
		}
	}
	for _, n := range existing["map"] {
		if !want["map "+n] && !strings.HasPrefix(n, "__") {
			tx.Delete(&knftables.Map{Name: n})
		}
	}
	return staleChains, staleSets
}

// fragments returns the base fragment, then the Services' in name order.
func (rs *Ruleset) fragments() []*fragment {
	frags := make([]*fragment, 0, len(rs.services)+1)
	frags = append(frags, rs.base)
	for _, key := range sortedKeys(rs.services) {
		frags = append(frags, rs.services[key])
	}
	return frags
}
