package proxy

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// snapshot is the input of one golden case.
type snapshot struct {
	services []*corev1.Service
	eslices  []*discoveryv1.EndpointSlice
}

// goldenCases are the inputs of the golden tests, by file name.
func goldenCases() map[string]snapshot {
	web := newService("default", "web", "10.96.0.10", tcp("http", 80))
	webSlice := newSlice("default", "web", "web-1", "http", 8080, corev1.ProtocolTCP,
		readyEP("10.244.1.2"), readyEP("10.244.2.3"),
		ep{ip: "10.244.3.4", node: "node-b"}) // not ready: no traffic

	dns := newService("kube-system", "dns", "10.96.0.53", svcPort{"dns", 53, corev1.ProtocolUDP, 0}, tcp("dns-tcp", 53))
	dnsSlices := []*discoveryv1.EndpointSlice{
		newSlice("kube-system", "dns", "dns-udp", "dns", 5353, corev1.ProtocolUDP, readyEP("10.244.1.9")),
		newSlice("kube-system", "dns", "dns-tcp", "dns-tcp", 5353, corev1.ProtocolTCP, readyEP("10.244.1.9")),
	}

	node := newService("default", "shop", "10.96.0.20", svcPort{"http", 80, corev1.ProtocolTCP, 30080})
	node.Spec.ExternalIPs = []string{"198.51.100.7"}
	nodeSlice := newSlice("default", "shop", "shop-1", "http", 8080, corev1.ProtocolTCP, readyEP("10.244.1.5"))

	empty := newService("default", "empty", "10.96.0.30", svcPort{"http", 80, corev1.ProtocolTCP, 30090})

	sticky := newService("default", "sticky", "10.96.0.40", tcp("http", 80))
	sticky.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	sticky.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To(int32(600))}}
	stickySlice := newSlice("default", "sticky", "sticky-1", "http", 8080, corev1.ProtocolTCP, readyEP("10.244.1.6"), readyEP("10.244.2.6"))

	draining := newService("default", "draining", "10.96.0.50", tcp("http", 80))
	drainingSlice := newSlice("default", "draining", "draining-1", "http", 8080, corev1.ProtocolTCP,
		ep{ip: "10.244.1.7", node: "node-a", serving: true, terminating: true},
		ep{ip: "10.244.1.8", node: "node-a", terminating: true})

	local := newService("default", "local", "10.96.0.60", tcp("http", 80))
	local.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyLocal)
	localSlice := newSlice("default", "local", "local-1", "http", 8080, corev1.ProtocolTCP,
		readyEP("10.244.1.10"), ep{ip: "10.244.2.10", node: "node-b", ready: true, serving: true})

	headless := newService("default", "headless", corev1.ClusterIPNone, tcp("http", 80))
	other := newService("default", "other-proxy", "10.96.0.70", tcp("http", 80))
	other.Labels = map[string]string{LabelServiceProxyName: "someone-else"}

	return map[string]snapshot{
		"empty":                 {},
		"cluster-ip":            {[]*corev1.Service{web}, []*discoveryv1.EndpointSlice{webSlice}},
		"ports-and-protocols":   {[]*corev1.Service{dns}, dnsSlices},
		"node-port":             {[]*corev1.Service{node}, []*discoveryv1.EndpointSlice{nodeSlice}},
		"no-endpoints":          {[]*corev1.Service{empty}, nil},
		"session-affinity":      {[]*corev1.Service{sticky}, []*discoveryv1.EndpointSlice{stickySlice}},
		"terminating-fallback":  {[]*corev1.Service{draining}, []*discoveryv1.EndpointSlice{drainingSlice}},
		"internal-policy-local": {[]*corev1.Service{local}, []*discoveryv1.EndpointSlice{localSlice}},
		"ignored":               {[]*corev1.Service{headless, other}, nil},
	}
}

// allCases is the union of the golden cases.
func allCases() snapshot {
	var all snapshot
	for _, name := range sortedKeys(goldenCases()) {
		c := goldenCases()[name]
		all.services = append(all.services, c.services...)
		all.eslices = append(all.eslices, c.eslices...)
	}
	return all
}

// replacedWeb is the cluster-ip case with its endpoints replaced.
func replacedWeb() snapshot {
	return snapshot{goldenCases()["cluster-ip"].services, []*discoveryv1.EndpointSlice{
		newSlice("default", "web", "web-1", "http", 8080, corev1.ProtocolTCP, readyEP("10.244.7.1"), readyEP("10.244.7.2"), readyEP("10.244.2.3"))}}
}

// dumpFull returns the table rs fills, as knftables' fake dumps it.
func dumpFull(t testing.TB, rs *Ruleset) string {
	t.Helper()
	fake := knftables.NewFake(knftables.IPv4Family, "navarch")
	tx := fake.NewTransaction()
	fullTransaction(tx, rs)
	if err := fake.Run(context.Background(), tx); err != nil {
		t.Fatalf("full transaction: %v\n%s", err, tx)
	}
	return fake.Dump()
}

func TestRenderMatchesGoldenFiles(t *testing.T) {
	for name, snap := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			rs := NewRenderer(testConfig).Render(snap.services, snap.eslices)
			got := dumpFull(t, rs)
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("rendered ruleset differs from %s (run with -update to accept):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	count := map[string]int{}
	for _, l := range strings.Split(want, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(got, "\n") {
		count[l]--
	}
	var b strings.Builder
	for l, n := range count {
		for ; n > 0; n-- {
			b.WriteString("- " + l + "\n")
		}
		for ; n < 0; n++ {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// sortElements puts the element lines of a fake's dump in order: the fake
// lists a set's elements in the order they were added, which differs
// between a full and an incremental apply without meaning anything.
func sortElements(dump string) string {
	var other, elements []string
	for _, l := range strings.Split(dump, "\n") {
		if strings.HasPrefix(l, "add element ") {
			elements = append(elements, l)
		} else {
			other = append(other, l)
		}
	}
	slices.Sort(elements)
	return strings.Join(append(other, elements...), "\n")
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestIncrementalApplyEndsWhereAFullApplyWould(t *testing.T) {
	cases := goldenCases()
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	// Every pair of snapshots, each applied on top of the other, plus the
	// union of all of them.
	var all snapshot
	for _, n := range names {
		all.services = append(all.services, cases[n].services...)
		all.eslices = append(all.eslices, cases[n].eslices...)
	}
	cases["all"] = all
	names = append(names, "all")
	// Changes within one Service: endpoints come and go, affinity goes.
	web := cases["cluster-ip"].services
	cases["web-scaled-down"] = snapshot{web, []*discoveryv1.EndpointSlice{
		newSlice("default", "web", "web-1", "http", 8080, corev1.ProtocolTCP, readyEP("10.244.2.3"))}}
	cases["web-replaced"] = snapshot{web, []*discoveryv1.EndpointSlice{
		newSlice("default", "web", "web-1", "http", 8080, corev1.ProtocolTCP, readyEP("10.244.7.1"), readyEP("10.244.7.2"), readyEP("10.244.2.3"))}}
	sticky := cases["session-affinity"].services[0].DeepCopy()
	sticky.Spec.SessionAffinity, sticky.Spec.SessionAffinityConfig = corev1.ServiceAffinityNone, nil
	cases["sticky-no-more"] = snapshot{[]*corev1.Service{sticky}, cases["session-affinity"].eslices}
	// Two Services sharing a pod share its hairpin element: the first by
	// name holds it, the other takes it over when the first goes.
	alias := newService("default", "alias", "10.96.0.11", tcp("http", 80))
	aliasSlice := newSlice("default", "alias", "alias-1", "http", 8080, corev1.ProtocolTCP, readyEP("10.244.1.2"))
	cases["shared-endpoint"] = snapshot{append(slices.Clone(web), alias), append(slices.Clone(cases["cluster-ip"].eslices), aliasSlice)}
	cases["alias-only"] = snapshot{[]*corev1.Service{alias}, []*discoveryv1.EndpointSlice{aliasSlice}}
	names = append(names, "web-scaled-down", "web-replaced", "sticky-no-more", "shared-endpoint", "alias-only")
	for _, from := range names {
		for _, to := range names {
			if from == to {
				continue
			}
			t.Run(from+"→"+to, func(t *testing.T) {
				ctx := context.Background()
				fake := knftables.NewFake(knftables.IPv4Family, "navarch")
				clock := &fakeClock{t: time.Unix(1000, 0)}
				ap := newApplier(fake, clock.now)
				r := NewRenderer(testConfig)
				if res, err := ap.Apply(ctx, r.Render(cases[from].services, cases[from].eslices)); err != nil || !res.Full {
					t.Fatalf("first apply: %+v, %v; want a full one", res, err)
				}
				rs := r.Render(cases[to].services, cases[to].eslices)
				if res, err := ap.Apply(ctx, rs); err != nil || res.Full {
					t.Fatalf("second apply: %+v, %v; want an incremental one", res, err)
				}
				clock.t = clock.t.Add(staleChainDelay)
				if _, err := ap.Apply(ctx, rs); err != nil {
					t.Fatalf("apply deleting stale chains: %v", err)
				}
				if ap.StaleChains() != 0 {
					t.Errorf("got %d stale chains left, want 0", ap.StaleChains())
				}
				if got, want := sortElements(fake.Dump()), sortElements(dumpFull(t, rs)); got != want {
					t.Errorf("incremental result differs from a full apply:\n%s", lineDiff(want, got))
				}
			})
			t.Run("restart "+from+"→"+to, func(t *testing.T) {
				// A new applier (a restarted proxy) adopts the table the
				// first one left.
				ctx := context.Background()
				fake := knftables.NewFake(knftables.IPv4Family, "navarch")
				clock := &fakeClock{t: time.Unix(1000, 0)}
				if _, err := newApplier(fake, clock.now).Apply(ctx, NewRenderer(testConfig).Render(cases[from].services, cases[from].eslices)); err != nil {
					t.Fatal(err)
				}
				ap := newApplier(fake, clock.now)
				rs := NewRenderer(testConfig).Render(cases[to].services, cases[to].eslices)
				if res, err := ap.Apply(ctx, rs); err != nil || !res.Full || res.Replaced {
					t.Fatalf("apply after the restart: %+v, %v; want the table adopted", res, err)
				}
				clock.t = clock.t.Add(staleChainDelay)
				if _, err := ap.Apply(ctx, rs); err != nil {
					t.Fatalf("apply deleting stale objects: %v", err)
				}
				if got, want := sortElements(fake.Dump()), sortElements(dumpFull(t, rs)); got != want {
					t.Errorf("adopted table differs from a full apply:\n%s", lineDiff(want, got))
				}
			})
		}
	}
}
