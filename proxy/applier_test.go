package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/knftables"
)

// requireNFT skips the test when nft cannot be used here (no binary, not
// root), unless CI=true, where it fails.
func requireNFT(t testing.TB) {
	t.Helper()
	reason := ""
	if _, err := exec.LookPath("nft"); err != nil {
		reason = "the nft binary is not installed"
	} else if os.Geteuid() != 0 {
		reason = "changing nftables needs root"
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// uniqueName returns prefix with a random suffix.
func uniqueName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// testTable returns the name of a fresh table, deleted when the test ends.
func testTable(t testing.TB) string {
	t.Helper()
	name := uniqueName("navarch-test-")
	t.Cleanup(func() {
		if err := Cleanup(context.Background(), name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return name
}

// listed returns the names of the table's chains, sets and maps as nft
// lists them, sorted.
func listed(t testing.TB, table string) map[string][]string {
	t.Helper()
	nft, err := knftables.New(knftables.IPv4Family, table)
	if err != nil {
		t.Fatal(err)
	}
	all, err := nft.ListAll(context.Background())
	if err != nil {
		t.Fatalf("list table %s: %v", table, err)
	}
	for _, v := range all {
		slices.Sort(v)
	}
	return all
}

// expected returns the names of rs's chains, sets and maps, sorted.
func expected(rs *Ruleset) map[string][]string {
	out := objectNames(rs)
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

func sameObjects(a, b map[string][]string) bool {
	for _, kind := range []string{"chain", "set", "map"} {
		if !slices.Equal(a[kind], b[kind]) {
			return false
		}
	}
	return true
}

func TestApplierSyncsTheTableFullyThenIncrementally(t *testing.T) {
	requireNFT(t)
	ctx := context.Background()
	table := testTable(t)
	ap, err := NewApplier(table)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	ap.now = clock.now
	cfg := testConfig
	cfg.TableName = table
	r := NewRenderer(cfg)

	steps := []struct {
		name     string
		snap     snapshot
		wantFull bool
	}{
		{"every kind of Service", allCases(), true},
		{"one Service's endpoints replaced", replacedWeb(), false},
		{"a Service deleted", snapshot{}, false},
		{"Services back", allCases(), false},
	}
	for _, step := range steps {
		rs := r.Render(step.snap.services, step.snap.eslices)
		res, err := ap.Apply(ctx, rs)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if res.Full != step.wantFull {
			t.Errorf("%s: got full %v, want %v", step.name, res.Full, step.wantFull)
		}
		clock.t = clock.t.Add(staleChainDelay)
		if _, err := ap.Apply(ctx, rs); err != nil {
			t.Fatalf("%s: deleting stale chains: %v", step.name, err)
		}
		if got, want := listed(t, table), expected(rs); !sameObjects(got, want) {
			t.Errorf("%s: the table holds\n%v\nwant\n%v", step.name, got, want)
		}
	}

	if ok, err := ap.Verify(ctx); err != nil || !ok {
		t.Fatalf("verify an untouched table: got %v, %v, want true", ok, err)
	}
	// A table changed behind the applier's back is noticed and rebuilt by
	// a full apply.
	out, err := exec.Command("nft", "delete", "table", "ip", table).CombinedOutput()
	if err != nil {
		t.Fatalf("nft delete table: %v: %s", err, out)
	}
	if ok, err := ap.Verify(ctx); err != nil || ok {
		t.Fatalf("verify a deleted table: got %v, %v, want false", ok, err)
	}
	ap.Reset()
	rs := r.Render(allCases().services, allCases().eslices)
	if res, err := ap.Apply(ctx, rs); err != nil || !res.Full {
		t.Fatalf("after Reset: got %+v, %v, want a full apply", res, err)
	}
	out, err = exec.Command("nft", "list", "table", "ip", table).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "10.96.0.10 . tcp . 80 : goto service-") {
		t.Errorf("listing the rebuilt table: %v\n%s", err, out)
	}
}

func TestARestartedApplierAdoptsTheTableAndKeepsAffinities(t *testing.T) {
	requireNFT(t)
	ctx := context.Background()
	table := testTable(t)
	cfg := testConfig
	cfg.TableName = table
	first, err := NewApplier(table)
	if err != nil {
		t.Fatal(err)
	}
	all := allCases()
	if res, err := first.Apply(ctx, NewRenderer(cfg).Render(all.services, all.eslices)); err != nil || !res.Replaced {
		t.Fatalf("first apply: %+v, %v; want the table written anew", res, err)
	}
	// A client's affinity, as the packet path records it.
	rs := NewRenderer(cfg).Render(all.services, all.eslices)
	var affinitySet string
	for _, f := range rs.services {
		for _, st := range f.sets {
			affinitySet = st.Name
		}
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("nft", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("nft %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("add", "element", "ip", table, affinitySet, "{ 192.0.2.77 timeout 1h }")

	second, err := NewApplier(table)
	if err != nil {
		t.Fatal(err)
	}
	res, err := second.Apply(ctx, rs)
	if err != nil || !res.Full || res.Replaced {
		t.Fatalf("apply after a restart: %+v, %v; want the table adopted", res, err)
	}
	chains, rules, elements := rs.Counts()
	t.Logf("adopting a table of %d chains, %d rules and %d elements took %d operations", chains, rules, elements, res.Operations)
	if got := run("list", "set", "ip", table, affinitySet); !strings.Contains(got, "192.0.2.77") {
		t.Errorf("the affinity entry did not survive the restart:\n%s", got)
	}
	if got, want := listed(t, table), expected(rs); !sameObjects(got, want) {
		t.Errorf("the adopted table holds\n%v\nwant\n%v", got, want)
	}
}

func TestCleanupLeavesNoTable(t *testing.T) {
	requireNFT(t)
	ctx := context.Background()
	table := testTable(t)
	ap, err := NewApplier(table)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig
	cfg.TableName = table
	if _, err := ap.Apply(ctx, NewRenderer(cfg).Render(allCases().services, allCases().eslices)); err != nil {
		t.Fatal(err)
	}
	if err := Cleanup(ctx, table); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	out, err := exec.Command("nft", "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables: %v: %s", err, out)
	}
	if strings.Contains(string(out), "table ip "+table+"\n") {
		t.Errorf("table %s is still there:\n%s", table, out)
	}
	if err := Cleanup(ctx, table); err != nil {
		t.Errorf("a second cleanup: got %v, want nil", err)
	}
}
