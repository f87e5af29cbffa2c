package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/navarch/navarch/internal/etcdtest"
)

// TestManyConcurrentLargeUpdatesKeepProgressing: 1,500 writers updating
// 16 KiB objects at once fill both directions of the client's connection
// to etcd; every second must still see updates complete (with a unix
// socket's default buffers gRPC's transport stopped reading on both ends
// and every call hung).
func TestManyConcurrentLargeUpdatesKeepProgressing(t *testing.T) {
	s := etcdtest.Start(t)
	ctx := ctxT(t)
	big := strings.Repeat("x", 16<<10)
	const objects, writers = 200, 1500
	for i := 0; i < objects; i++ {
		p := pod("default", fmt.Sprint("p", i), "", nil)
		p.Annotations = map[string]string{"big": big}
		mustCreate(t, s, p)
	}
	var done atomic.Int64
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for wctx.Err() == nil {
				_ = s.GuaranteedUpdate(wctx, podKey("default", fmt.Sprint("p", w%objects)), &corev1.Pod{}, false,
					func(cur runtime.Object, _ bool) (runtime.Object, error) {
						p := cur.(*corev1.Pod)
						p.Annotations["n"] = fmt.Sprint(time.Now().UnixNano())
						return p, nil
					})
				done.Add(1)
			}
		})
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	last := int64(0)
	for second := 1; second <= 3; second++ {
		time.Sleep(time.Second)
		cur := done.Load()
		if cur == last {
			t.Fatalf("second %d: no update completed (%d in all), want progress every second", second, cur)
		}
		last = cur
	}
}
