package apiserver_test

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/navarch/navarch/internal/testserver"
)

// recorder keeps what an informer's handlers saw.
type recorder struct {
	mu     sync.Mutex
	events []string
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1000)} }

func (r *recorder) add(ev string) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.notify <- struct{}{}
}

func (r *recorder) handlers() cache.ResourceEventHandlerFuncs {
	name := func(obj any) string {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		return obj.(*corev1.Pod).Name
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { r.add("add " + name(obj)) },
		UpdateFunc: func(old, obj any) {
			if old.(*corev1.Pod).ResourceVersion != obj.(*corev1.Pod).ResourceVersion {
				r.add("update " + name(obj))
			}
		},
		DeleteFunc: func(obj any) { r.add("delete " + name(obj)) },
	}
}

// waitFor waits until the recorder has seen ev.
func (r *recorder) waitFor(t *testing.T, ev string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		for _, e := range r.events {
			if e == ev {
				r.mu.Unlock()
				return
			}
		}
		seen := append([]string(nil), r.events...)
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatalf("informer never saw %q; saw %v", ev, seen)
		}
	}
}

func TestClientGoCreatesListsWatchesUpdatesAndDeletes(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	ctx := ctxT(t)

	rec := newRecorder()
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace("default"))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(rec.handlers()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		t.Fatal("informer did not sync")
	}

	w, err := cs.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()

	created, err := cs.CoreV1().Pods("default").Create(ctx, newPod("default", "web-1"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.UID == "" || created.ResourceVersion == "" || created.CreationTimestamp.IsZero() {
		t.Errorf("created pod lacks uid, resourceVersion or creationTimestamp: %+v", created.ObjectMeta)
	}
	rec.waitFor(t, "add web-1")

	list, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "web-1" {
		t.Errorf("list: got %d items, want web-1 only", len(list.Items))
	}

	updated := created.DeepCopy()
	updated.Labels["tier"] = "front"
	updated, err = cs.CoreV1().Pods("default").Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	rec.waitFor(t, "update web-1")

	stale := created.DeepCopy()
	stale.Labels["tier"] = "back"
	_, err = cs.CoreV1().Pods("default").Update(ctx, stale, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("update with a stale resourceVersion: got %v, want 409 Conflict", err)
	}
	want := `Operation cannot be fulfilled on pods "web-1": the object has been modified; please apply your changes to the latest version and try again`
	if err.Error() != want {
		t.Errorf("conflict message: got %q, want %q", err.Error(), want)
	}

	// An unbound pod goes at once.
	if err := cs.CoreV1().Pods("default").Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	rec.waitFor(t, "delete web-1")
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "web-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get after delete: got %v, want 404", err)
	}

	var types []watch.EventType
	timeout := time.After(10 * time.Second)
	for len(types) < 3 {
		select {
		case ev := <-w.ResultChan():
			types = append(types, ev.Type)
		case <-timeout:
			t.Fatalf("watch saw %v, want ADDED, MODIFIED, DELETED", types)
		}
	}
	if types[0] != watch.Added || types[1] != watch.Modified || types[2] != watch.Deleted {
		t.Errorf("watch events: got %v, want [ADDED MODIFIED DELETED]", types)
	}
}

// gatedWatch lets a test end an informer's watch cleanly (as a server-side
// timeout does), hold its next watch until the test has changed and
// compacted the store, and count the 410 error events its watches see.
type gatedWatch struct {
	mu      sync.Mutex
	gate    chan struct{}
	current *proxyWatch
	expired int
}

// proxyWatch forwards a watch's events until it is ended.
type proxyWatch struct {
	inner watch.Interface
	out   chan watch.Event
	done  chan struct{}
	once  sync.Once
}

func (p *proxyWatch) ResultChan() <-chan watch.Event { return p.out }
func (p *proxyWatch) Stop()                          { p.end() }
func (p *proxyWatch) end()                           { p.once.Do(func() { close(p.done); p.inner.Stop() }) }

func (g *gatedWatch) watch(inner func() (watch.Interface, error)) (watch.Interface, error) {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
	w, err := inner()
	if err != nil {
		return nil, err
	}
	p := &proxyWatch{inner: w, out: make(chan watch.Event), done: make(chan struct{})}
	go func() {
		defer close(p.out)
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				if st, isStatus := ev.Object.(*metav1.Status); isStatus && ev.Type == watch.Error && st.Code == 410 {
					g.mu.Lock()
					g.expired++
					g.mu.Unlock()
				}
				select {
				case p.out <- ev:
				case <-p.done:
					return
				}
			case <-p.done:
				return
			}
		}
	}()
	g.mu.Lock()
	g.current = p
	g.mu.Unlock()
	return p, nil
}

func TestAnInformerWhoseWatchIsCompactedAwayRelistsAndCarriesOn(t *testing.T) {
	srv := testserver.Start(t)
	cs := srv.ClientSet()
	ctx := ctxT(t)
	pods := cs.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, newPod("default", "a"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	g := &gatedWatch{}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return g.watch(func() (watch.Interface, error) { return pods.Watch(ctx, o) })
		},
	}
	rec := newRecorder()
	inf := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, cache.Indexers{})
	if _, err := inf.AddEventHandler(rec.handlers()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go inf.Run(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	rec.waitFor(t, "add a")
	// A watch that ends within a second without events counts as failed
	// for the reflector, which would then relist instead of watching on.
	time.Sleep(1100 * time.Millisecond)

	// Hold the next watch, end the current one, change the store and
	// compact its history past the informer's resourceVersion.
	gate := make(chan struct{})
	g.mu.Lock()
	g.gate = gate
	cur := g.current
	g.mu.Unlock()
	if cur == nil {
		t.Fatal("the informer has no watch")
	}
	cur.end()
	b, err := pods.Create(ctx, newPod("default", "b"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rev, err := srv.Store().Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store().Compact(ctx, rev); err != nil {
		t.Fatalf("compact: %v", err)
	}
	g.mu.Lock()
	g.gate = nil
	g.mu.Unlock()
	close(gate)

	rec.waitFor(t, "add b")
	rec.waitFor(t, "delete a")
	g.mu.Lock()
	expired := g.expired
	g.mu.Unlock()
	if expired == 0 {
		t.Error("the informer's watch from the compacted revision got no 410 error event")
	}

	// And it carries on.
	if _, err := pods.Create(ctx, newPod("default", "c"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "add c")
	b.Labels["x"] = "y"
	if _, err := pods.Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "update b")
}

func TestANoOpWriteKeepsTheResourceVersion(t *testing.T) {
	srv := testserver.Start(t)
	ctx := ctxT(t)
	pods := srv.ClientSet().CoreV1().Pods("default")
	pod, err := pods.Create(ctx, newPod("default", "p"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func() (*corev1.Pod, error){
		"update":        func() (*corev1.Pod, error) { return pods.Update(ctx, pod, metav1.UpdateOptions{}) },
		"status update": func() (*corev1.Pod, error) { return pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}) },
		"empty patch": func() (*corev1.Pod, error) {
			return pods.Patch(ctx, "p", "application/merge-patch+json", []byte(`{}`), metav1.PatchOptions{})
		},
	} {
		got, err := write()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.ResourceVersion != pod.ResourceVersion {
			t.Errorf("%s changing nothing: resourceVersion %s, want %s", name, got.ResourceVersion, pod.ResourceVersion)
		}
	}
}
