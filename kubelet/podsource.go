package kubelet

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// PodHandler receives the pods of one node.
type PodHandler interface {
	// PodUpdated is called for a pod added or changed.
	PodUpdated(pod *corev1.Pod)
	// PodDeleted is called once a pod is gone from the API.
	PodDeleted(pod *corev1.Pod)
}

// PodSource delivers the pods bound to nodes. A kubelet subscribes to its
// node's pods; hollow nodes share one source among many kubelets.
type PodSource interface {
	// Subscribe sends node's pod events to h from now on (the pods that
	// exist are sent as updates). list returns the node's pods as cached;
	// synced reports whether the first full listing is in.
	Subscribe(node string, h PodHandler) (list func() []*corev1.Pod, synced func() bool)
}

// SharedPodSource watches all pods once and dispatches them to the
// kubelets subscribed for their spec.nodeName. Start it once every
// kubelet sharing it has subscribed or later; subscriptions made after
// Start get the pods that exist at once.
type SharedPodSource struct {
	informer cache.SharedIndexInformer

	mu       sync.RWMutex
	handlers map[string]PodHandler
}

const nodeNameIndex = "spec.nodeName"

// NewSharedPodSource returns a source over every pod of the cluster, read
// with client (which must be allowed to list and watch all pods).
func NewSharedPodSource(client kubernetes.Interface) *SharedPodSource {
	return newPodSource(client, "")
}

func newPodSource(client kubernetes.Interface, node string) *SharedPodSource {
	selector := func(o *metav1.ListOptions) {}
	if node != "" {
		sel := fields.OneTermEqualSelector("spec.nodeName", node).String()
		selector = func(o *metav1.ListOptions) { o.FieldSelector = sel }
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			selector(&o)
			return client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			selector(&o)
			return client.CoreV1().Pods(metav1.NamespaceAll).Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, cache.Indexers{
		nodeNameIndex: func(obj any) ([]string, error) {
			if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
				return []string{p.Spec.NodeName}, nil
			}
			return nil, nil
		},
	})
	// Strip what the kubelet never reads from the cache (managed fields
	// can be most of an object's size).
	inf.SetTransform(func(obj any) (any, error) {
		if p, ok := obj.(*corev1.Pod); ok {
			p.ManagedFields = nil
		}
		return obj, nil
	})
	s := &SharedPodSource{informer: inf, handlers: map[string]PodHandler{}}
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.dispatch(obj, false) },
		UpdateFunc: func(_, obj any) { s.dispatch(obj, false) },
		DeleteFunc: func(obj any) { s.dispatch(obj, true) },
	})
	return s
}

// Run runs the watch until ctx ends.
func (s *SharedPodSource) Run(ctx context.Context) { s.informer.RunWithContext(ctx) }

// HasSynced reports whether the first listing is in.
func (s *SharedPodSource) HasSynced() bool { return s.informer.HasSynced() }

// Subscribe implements PodSource.
func (s *SharedPodSource) Subscribe(node string, h PodHandler) (func() []*corev1.Pod, func() bool) {
	s.mu.Lock()
	s.handlers[node] = h
	s.mu.Unlock()
	list := func() []*corev1.Pod {
		objs, err := s.informer.GetIndexer().ByIndex(nodeNameIndex, node)
		if err != nil {
			return nil
		}
		out := make([]*corev1.Pod, 0, len(objs))
		for _, o := range objs {
			out = append(out, o.(*corev1.Pod))
		}
		return out
	}
	for _, p := range list() {
		h.PodUpdated(p)
	}
	return list, s.informer.HasSynced
}

// Unsubscribe stops sending node's pods.
func (s *SharedPodSource) Unsubscribe(node string) {
	s.mu.Lock()
	delete(s.handlers, node)
	s.mu.Unlock()
}

func (s *SharedPodSource) dispatch(obj any, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = t.Obj, true
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return
	}
	s.mu.RLock()
	h := s.handlers[pod.Spec.NodeName]
	s.mu.RUnlock()
	if h == nil {
		return
	}
	if deleted {
		h.PodDeleted(pod)
	} else {
		h.PodUpdated(pod)
	}
}

// startServices starts the kubelet's own Services informer unless one was
// given.
func (k *Kubelet) startServices(ctx context.Context) error {
	if k.opts.Services != nil {
		k.services, k.svcSynced = k.opts.Services, k.opts.ServicesSynced
		return nil
	}
	f := informers.NewSharedInformerFactoryWithOptions(k.client, 0, informers.WithTransform(TrimService))
	inf := f.Core().V1().Services()
	k.services, k.svcSynced = inf.Lister(), inf.Informer().HasSynced
	f.Start(ctx.Done())
	go func() { <-ctx.Done(); f.Shutdown() }()
	return nil
}

// TrimService is an informer transform for the Services a kubelet lists:
// it keeps what the containers' Service environment is made of (name,
// namespace, type, cluster IPs, ports) and the object's identity, and
// drops the rest — managed fields, labels, annotations (kubectl's
// last-applied configuration alone is a copy of the object), selector and
// status — so that a node's cache holds a fraction of each Service. Other
// objects pass unchanged.
func TrimService(obj any) (any, error) {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return obj, nil
	}
	return &corev1.Service{
		TypeMeta: s.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, Namespace: s.Namespace, UID: s.UID, ResourceVersion: s.ResourceVersion,
		},
		Spec: corev1.ServiceSpec{
			Type: s.Spec.Type, ClusterIP: s.Spec.ClusterIP, ClusterIPs: s.Spec.ClusterIPs, Ports: s.Spec.Ports,
		},
	}, nil
}

// startPods subscribes to the node's pods: through Options.Pods, or an
// informer of the kubelet's own with spec.nodeName=<node>.
func (k *Kubelet) startPods(ctx context.Context) {
	src := k.opts.Pods
	if src == nil {
		own := newPodSource(k.client, k.opts.NodeName)
		go own.Run(ctx)
		src = own
	}
	k.pods = src
	k.podsList, k.podsSynced = src.Subscribe(k.opts.NodeName, k.workers)
	go func() {
		<-ctx.Done()
		if s, ok := src.(interface{ Unsubscribe(string) }); ok {
			s.Unsubscribe(k.opts.NodeName)
		}
	}()
}

// Pods returns the node's pods as the kubelet sees them: from the API,
// with the status the kubelet last computed.
func (k *Kubelet) Pods() []*corev1.Pod {
	if k.podsList == nil {
		return nil
	}
	pods := k.podsList()
	out := make([]*corev1.Pod, 0, len(pods))
	for _, p := range pods {
		if st := k.workers.lastStatus(p.UID); st != nil {
			p = p.DeepCopy()
			p.Status = *st
		}
		out = append(out, p)
	}
	return out
}

func podKey(p *corev1.Pod) string { return fmt.Sprintf("%s/%s", p.Namespace, p.Name) }
