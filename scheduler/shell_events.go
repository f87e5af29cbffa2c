package scheduler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// addHandlers feeds the snapshot and the queue from the informers:
// nodes and namespaces into the snapshot; bound pods into the snapshot;
// pending pods this scheduler serves into the queue. Changes that could
// make a pending pod fit move the unschedulable ones back to the queue.
// It returns the functions that report when each handler has seen the
// informers' initial lists.
func (s *Shell) addHandlers(f informers.SharedInformerFactory) ([]cache.InformerSynced, error) {
	pods := f.Core().V1().Pods().Informer()
	nodes := f.Core().V1().Nodes().Informer()
	namespaces := f.Core().V1().Namespaces().Informer()
	for _, inf := range []cache.SharedIndexInformer{pods, nodes, namespaces} {
		if err := inf.SetTransform(stripManagedFields); err != nil {
			return nil, fmt.Errorf("scheduler: informer transform: %w", err)
		}
	}
	var synced []cache.InformerSynced
	reg, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onPodAdd(obj.(*corev1.Pod)) },
		UpdateFunc: func(old, cur any) { s.onPodUpdate(old.(*corev1.Pod), cur.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if p := podFromTombstone(obj); p != nil {
				s.onPodDelete(p)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	synced = append(synced, reg.HasSynced)
	reg, err = nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			s.withSnapshot(func(snap *Snapshot) { snap.UpdateNode(obj.(*corev1.Node)) })
			s.queue.MoveAll()
		},
		UpdateFunc: func(old, cur any) {
			o, n := old.(*corev1.Node), cur.(*corev1.Node)
			s.withSnapshot(func(snap *Snapshot) { snap.UpdateNode(n) })
			if nodeChangedForScheduling(o, n) {
				s.queue.MoveAll()
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				s.withSnapshot(func(snap *Snapshot) { snap.RemoveNode(n.Name) })
			}
		},
	})
	if err != nil {
		return nil, err
	}
	synced = append(synced, reg.HasSynced)
	reg, err = namespaces.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			ns := obj.(*corev1.Namespace)
			s.withSnapshot(func(snap *Snapshot) { snap.SetNamespaceLabels(ns.Name, ns.Labels) })
		},
		UpdateFunc: func(_, cur any) {
			ns := cur.(*corev1.Namespace)
			s.withSnapshot(func(snap *Snapshot) { snap.SetNamespaceLabels(ns.Name, ns.Labels) })
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if ns, ok := obj.(*corev1.Namespace); ok {
				s.withSnapshot(func(snap *Snapshot) { snap.SetNamespaceLabels(ns.Name, nil) })
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return append(synced, reg.HasSynced), nil
}

func (s *Shell) withSnapshot(f func(*Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.snap)
}

func podFromTombstone(obj any) *corev1.Pod {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, _ := obj.(*corev1.Pod)
	return p
}

// pending reports whether the pod waits for this scheduler.
func (s *Shell) pending(p *corev1.Pod) bool {
	return p.Spec.NodeName == "" && p.DeletionTimestamp == nil &&
		p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed &&
		Responsible(p, s.opts.SchedulerName)
}

func (s *Shell) onPodAdd(p *corev1.Pod) {
	switch {
	case p.Spec.NodeName != "":
		s.addBound(p)
	case s.pending(p):
		s.queue.Add(p)
	}
}

func (s *Shell) onPodUpdate(old, cur *corev1.Pod) {
	switch {
	case cur.Spec.NodeName != "":
		s.queue.Delete(cur)
		s.addBound(cur)
		if old.Spec.NodeName != "" && isTerminal(cur) && !isTerminal(old) {
			s.queue.MoveAll() // its resources are free
		}
	case s.pending(cur):
		s.queue.Update(cur)
	default:
		s.queue.Delete(cur)
	}
}

func (s *Shell) onPodDelete(p *corev1.Pod) {
	s.queue.Delete(p)
	s.mu.Lock()
	s.snap.RemovePod(p)
	delete(s.assumed, p.UID)
	s.mu.Unlock()
	if p.Spec.NodeName != "" {
		s.queue.MoveAll()
	}
}

// addBound puts a bound pod in the snapshot, replacing its assumed copy.
func (s *Shell) addBound(p *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.assumed, p.UID)
	if err := s.snap.UpdatePod(p); err != nil {
		s.log.Warn("bound pod not accounted", "pod", p.Namespace+"/"+p.Name, "error", err)
	}
}

func isTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// nodeChangedForScheduling reports whether a node update could let a pod
// fit that did not before: its capacity, labels, taints or
// schedulability, or a condition's status. Heartbeat timestamps do not
// count, so a busy cluster does not keep re-trying pods that cannot fit.
func nodeChangedForScheduling(old, cur *corev1.Node) bool {
	if old.Spec.Unschedulable != cur.Spec.Unschedulable ||
		!apiequality.Semantic.DeepEqual(old.Status.Allocatable, cur.Status.Allocatable) ||
		!apiequality.Semantic.DeepEqual(old.Labels, cur.Labels) ||
		!apiequality.Semantic.DeepEqual(old.Spec.Taints, cur.Spec.Taints) {
		return true
	}
	if len(old.Status.Conditions) != len(cur.Status.Conditions) {
		return true
	}
	for i := range old.Status.Conditions {
		o, c := old.Status.Conditions[i], cur.Status.Conditions[i]
		if o.Type != c.Type || o.Status != c.Status {
			return true
		}
	}
	return false
}

// stripManagedFields drops managedFields from cached objects: the
// scheduler never reads them, and they are most of a pod's size.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(interface {
		SetManagedFields([]metav1.ManagedFieldsEntry)
	}); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
