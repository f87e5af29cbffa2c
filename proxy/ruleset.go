package proxy

import (
	"slices"
	"strings"

	"sigs.k8s.io/knftables"
)

// Ruleset is the whole content of the proxy's table: the fixed objects
// (base) and one fragment per Service. It is a value: nothing changes it
// once rendered, and fragments of unchanged Services are shared between
// successive rulesets, so that comparing two rulesets costs little more
// than the Services that changed.
type Ruleset struct {
	table    *knftables.Table
	base     *fragment
	services map[string]*fragment // by namespace/name
}

// fragment is a group of objects that change together: the fixed objects,
// or those of one Service.
type fragment struct {
	chains   []*chain // sorted by name
	sets     []*knftables.Set
	maps     []*knftables.Map
	elements []*knftables.Element
}

// chain is a chain with its rules.
type chain struct {
	def   *knftables.Chain
	rules []*knftables.Rule
}

func (f *fragment) addChain(def *knftables.Chain, rules ...string) *chain {
	c := &chain{def: def}
	for _, r := range rules {
		c.add(r)
	}
	f.chains = append(f.chains, c)
	return c
}

func (c *chain) add(rule string) {
	c.rules = append(c.rules, &knftables.Rule{Chain: c.def.Name, Rule: rule})
}

func (f *fragment) addElement(e *knftables.Element) { f.elements = append(f.elements, e) }

// sort puts the fragment's objects in name order.
func (f *fragment) sort() {
	slices.SortFunc(f.chains, func(a, b *chain) int { return strings.Compare(a.def.Name, b.def.Name) })
	slices.SortFunc(f.sets, func(a, b *knftables.Set) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(f.maps, func(a, b *knftables.Map) int { return strings.Compare(a.Name, b.Name) })
}

// Counts sums the ruleset's objects: chains, rules, and set and map elements.
func (rs *Ruleset) Counts() (chains, rules, elements int) {
	count := func(f *fragment) {
		chains += len(f.chains)
		for _, c := range f.chains {
			rules += len(c.rules)
		}
		elements += len(f.elements)
	}
	count(rs.base)
	for _, f := range rs.services {
		count(f)
	}
	return chains, rules, elements
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// elementID names an element within the table: its set or map and key.
func elementID(e *knftables.Element) string {
	return e.Set + e.Map + " " + strings.Join(e.Key, " . ")
}

func elementsEqual(a, b *knftables.Element) bool {
	return slices.Equal(a.Value, b.Value) && ptrEqual(a.Comment, b.Comment)
}

func rulesEqual(a, b []*knftables.Rule) bool {
	return slices.EqualFunc(a, b, func(x, y *knftables.Rule) bool {
		return x.Rule == y.Rule && ptrEqual(x.Comment, y.Comment)
	})
}

func ptrEqual[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func setsEqual(a, b *knftables.Set) bool {
	return a.Type == b.Type && slices.Equal(a.Flags, b.Flags) && ptrEqual(a.Timeout, b.Timeout) && ptrEqual(a.Comment, b.Comment)
}
