package controllers

import (
	"context"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// podGCQuarantine is how long a pod bound to a node that does not exist
// waits before it is removed (the node may be registering).
const podGCQuarantine = 40 * time.Second

// podGC removes pods no one else will: finished pods beyond
// TerminatedPodGCThreshold (oldest first), pods bound to nodes that no
// longer exist, and pods being deleted that never got a node (Kubernetes'
// PodGC controller).
type podGC struct {
	m *Manager
	// missingSince records when a pod's node was first found missing.
	missingSince map[string]time.Time
}

func (m *Manager) setUpPodGC() error {
	g := &podGC{m: m, missingSince: map[string]time.Time{}}
	m.factory.Core().V1().Nodes().Informer() // make sure the lister is synced
	m.background = append(m.background, g.run)
	return nil
}

func (g *podGC) run(ctx context.Context) {
	t := time.NewTicker(g.m.opts.PodGCPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.pass(ctx)
		}
	}
}

// pass runs one collection.
func (g *podGC) pass(ctx context.Context) {
	pods, _ := g.m.factory.Core().V1().Pods().Lister().List(labels.Everything())
	nodes := g.m.factory.Core().V1().Nodes().Lister()
	now := g.m.opts.Now()
	var terminated []*corev1.Pod
	seen := map[string]bool{}
	for _, p := range pods {
		key := p.Namespace + "/" + p.Name
		switch {
		case isPodTerminal(p):
			terminated = append(terminated, p)
		case p.DeletionTimestamp != nil && p.Spec.NodeName == "":
			g.forceDelete(ctx, p, "unscheduled pod being deleted")
		case p.Spec.NodeName != "":
			if _, err := nodes.Get(p.Spec.NodeName); apierrors.IsNotFound(err) {
				seen[key] = true
				since, ok := g.missingSince[key]
				if !ok {
					g.missingSince[key] = now
				} else if now.Sub(since) >= podGCQuarantine && g.nodeGone(ctx, p.Spec.NodeName) {
					g.forceDelete(ctx, p, "node "+p.Spec.NodeName+" does not exist")
				}
			}
		}
	}
	for key := range g.missingSince {
		if !seen[key] {
			delete(g.missingSince, key)
		}
	}
	g.collectTerminated(ctx, terminated)
}

// nodeGone confirms with the API server that a node does not exist.
func (g *podGC) nodeGone(ctx context.Context, name string) bool {
	_, err := g.m.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

func (g *podGC) collectTerminated(ctx context.Context, terminated []*corev1.Pod) {
	limit := g.m.opts.TerminatedPodGCThreshold
	if limit < 0 || len(terminated) <= limit {
		return
	}
	sort.Slice(terminated, func(i, j int) bool {
		return terminated[i].CreationTimestamp.Before(&terminated[j].CreationTimestamp)
	})
	for _, p := range terminated[:len(terminated)-limit] {
		g.forceDelete(ctx, p, "terminated pods beyond the threshold")
	}
}

func (g *podGC) forceDelete(ctx context.Context, p *corev1.Pod, why string) {
	zero := int64(0)
	err := g.m.cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &p.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		g.m.log.Warn("pod GC: delete failed", "pod", p.Namespace+"/"+p.Name, "error", err)
		return
	}
	g.m.log.Info("pod GC: deleted pod", "pod", p.Namespace+"/"+p.Name, "reason", why)
}
