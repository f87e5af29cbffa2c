package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
	"github.com/navarch/navarch/reconciler"
	"github.com/navarch/navarch/sources/gittest"
)

// atomObjects is how many ConfigMaps each revision of the atomicity test
// holds.
const atomObjects = 600

// atomRevision is a revision of atomObjects ConfigMaps, every one saying
// value, in files of 100 documents each.
func atomRevision(value string) map[string]string {
	files := map[string]string{"namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: atom}\n"}
	for f := 0; f < atomObjects/100; f++ {
		var b strings.Builder
		for i := f * 100; i < (f+1)*100; i++ {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%03d, namespace: atom}\ndata:\n  revision: %q\n  filler: %q\n",
				i, value, strings.Repeat(value, 200))
		}
		files[fmt.Sprintf("configmaps-%d.yaml", f)] = b.String()
	}
	return files
}

// revisionsInStore returns how many of the ConfigMaps hold each value.
func revisionsInStore(ctx context.Context, t *testing.T, p *serverProcess) map[string]int {
	t.Helper()
	list, err := p.clientset(t).CoreV1().ConfigMaps("atom").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	got := map[string]int{}
	for _, cm := range list.Items {
		if strings.HasPrefix(cm.Name, "cm-") {
			got[cm.Data["revision"]]++
		}
	}
	return got
}

// waitAllAt waits until every ConfigMap holds value.
func waitAllAt(ctx context.Context, t *testing.T, p *serverProcess, value string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got map[string]int
	for time.Now().Before(deadline) {
		if got = revisionsInStore(ctx, t, p); got[value] == atomObjects && len(got) == 1 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("got ConfigMaps at %v, want all %d at %s\n%s", got, atomObjects, value, p.log())
}

func TestKillDuringASyncLeavesTheWholeOldOrTheWholeNewRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the server several times")
	}
	ctx := context.Background()
	repo := gittest.NewServer(t).NewRepo(t, "atom")
	repo.CommitAndPush("revision r0", atomRevision("r0"))
	dataDir := t.TempDir()
	flags := []string{"--git=" + repo.URL}
	p := startRole(t, "server", dataDir, flags...)
	waitReconciling(t, p)
	waitAllAt(ctx, t, p, "r0")

	outcomes := map[string][]string{}
	// Kills at fixed delays after the sync request, and as soon as the
	// server logs that it sends the revision's transaction (debug level),
	// so that every phase of a sync is hit whatever the machine's speed.
	kills := []struct {
		after string // a log message to wait for first; "" for none
		delay time.Duration
	}{
		{"", 10 * time.Millisecond},
		{"", 40 * time.Millisecond},
		{"msg=applying", 0},
		{"msg=applying", 2 * time.Millisecond},
		{`msg="revision applied"`, 0},
	}
	for i, kill := range kills {
		delay := kill.delay
		old, next := fmt.Sprintf("r%d", i), fmt.Sprintf("r%d", i+1)
		repo.CommitAndPush("revision "+next, atomRevision(next))
		sc, err := reconciler.NewSourceClient(p.restConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		logged := len(p.log())
		if _, err := sc.RequestSync(ctx, "navarch-system", "atom", time.Now()); err != nil {
			t.Fatalf("request sync: %v", err)
		}
		if kill.after != "" {
			waitLogged(t, p, logged, kill.after)
		}
		time.Sleep(delay)
		p.kill9()
		phase := syncPhase(p.log()[logged:])

		start := time.Now()
		p = startRole(t, "server", dataDir, flags...)
		when := fmt.Sprintf("%s after the request", delay)
		if kill.after != "" {
			when = fmt.Sprintf("%s after %s", delay, kill.after)
		}
		t.Logf("killed %s (%s); restarted in %s", when, phase, time.Since(start).Round(time.Millisecond))
		got := revisionsInStore(ctx, t, p)
		switch {
		case got[old] == atomObjects && len(got) == 1:
			outcomes["old"] = append(outcomes["old"], phase)
		case got[next] == atomObjects && len(got) == 1:
			outcomes["new"] = append(outcomes["new"], phase)
		default:
			t.Fatalf("killed %s: got ConfigMaps at %v, want all %d at %s or all at %s", phase, got, atomObjects, old, next)
		}
		// The restarted server carries on to the new revision once it
		// leads (the killed server's Lease has to expire first).
		start = time.Now()
		waitReconciling(t, p)
		waitAllAt(ctx, t, p, next)
		t.Logf("  the restarted server led and held all of %s after %s", next, time.Since(start).Round(time.Millisecond))
	}
	var summary []string
	for k, v := range outcomes {
		summary = append(summary, fmt.Sprintf("the whole %s revision after kills %s", k, strings.Join(v, ", ")))
	}
	sort.Strings(summary)
	t.Logf("%d objects per revision; %s", atomObjects, strings.Join(summary, "; "))
	src, err := mustSourceClient(t, p).Get(ctx, "navarch-system", "atom")
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Status.Inventory) != atomObjects+1 {
		t.Errorf("got %d inventory entries, want %d", len(src.Status.Inventory), atomObjects+1)
	}
	if c := readyCondition(src); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("got Ready %+v, want True", c)
	}
}

func mustSourceClient(t *testing.T, p *serverProcess) *reconciler.SourceClient {
	t.Helper()
	sc, err := reconciler.NewSourceClient(p.restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func readyCondition(src *gitopsv1alpha1.Source) *metav1.Condition {
	for i := range src.Status.Conditions {
		if src.Status.Conditions[i].Type == gitopsv1alpha1.ConditionReady {
			return &src.Status.Conditions[i]
		}
	}
	return nil
}

// waitLogged waits until the server's log holds msg after offset.
func waitLogged(t *testing.T, p *serverProcess, offset int, msg string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if log := p.log(); len(log) > offset && strings.Contains(log[offset:], msg) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never logged %s\n%s", msg, p.log())
		}
		time.Sleep(time.Millisecond)
	}
}

// waitReconciling waits until the server's reconciler runs: it holds the
// reconciler's Lease and has filled its caches.
func waitReconciling(t *testing.T, p *serverProcess) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(p.log(), `msg="reconciler started"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the reconciler did not start\n%s", p.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncPhase says how far a sync had come in a killed server's log: not
// started, fetching, planning, committing (the transaction was sent) or
// committed.
func syncPhase(log string) string {
	switch {
	case strings.Contains(log, `msg="revision applied"`):
		return "after the commit"
	case strings.Contains(log, `msg=applying`):
		return "during the transaction"
	case strings.Contains(log, `msg=fetched`):
		return "while parsing and planning"
	case strings.Contains(log, `msg=fetching`):
		return "while fetching"
	}
	return "before the sync started"
}
