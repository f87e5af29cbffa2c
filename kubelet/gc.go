package kubelet

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// adopt runs once at start, after the node's pods are listed: every pod
// the runtime holds that the API still has is left running (its worker
// reads its containers back from their labels and leaves healthy ones
// alone); the others get a worker that stops and removes them.
func (k *Kubelet) adopt(ctx context.Context) error {
	rt := k.runtime()
	sbs, err := rt.ListPodSandboxes(ctx, SandboxFilter{})
	if err != nil {
		return err
	}
	ctrs, err := rt.ListContainers(ctx, ContainerFilter{})
	if err != nil {
		return err
	}
	known := map[types.UID]bool{}
	for _, p := range k.podsList() {
		known[p.UID] = true
	}
	found := map[types.UID]bool{}
	running := 0
	for _, sb := range sbs {
		if uid := types.UID(sb.Config.Labels[labelPodUID]); uid != "" {
			found[uid] = true
		}
	}
	for _, c := range ctrs {
		if uid := types.UID(c.Labels[labelPodUID]); uid != "" {
			found[uid] = true
			if c.State == ContainerRunning && known[uid] {
				running++
			}
		}
	}
	adopted, orphans := 0, 0
	for uid := range found {
		if known[uid] {
			adopted++
			continue
		}
		orphans++
		k.workers.orphan(uid)
	}
	if len(found) > 0 {
		k.log.Info("found pods in the runtime", "adopted", adopted, "runningContainers", running, "orphansToRemove", orphans)
	}
	return nil
}

// relistLoop lists the runtime's containers every RelistPeriod and wakes
// the worker of every pod whose containers changed state (or appeared, or
// went away). A pod the runtime holds but no worker knows is an orphan.
func (k *Kubelet) relistLoop(ctx context.Context) {
	prev := map[string]ContainerState{}
	tick := time.NewTicker(k.opts.RelistPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		start := time.Now()
		ctrs, err := k.runtime().ListContainers(ctx, ContainerFilter{})
		if err != nil {
			continue
		}
		if k.metrics != nil {
			k.metrics.relistDuration.Observe(time.Since(start).Seconds())
		}
		cur := make(map[string]ContainerState, len(ctrs))
		changed := map[types.UID]bool{}
		running, pods := 0, map[types.UID]bool{}
		for _, c := range ctrs {
			cur[c.ID] = c.State
			uid := types.UID(c.Labels[labelPodUID])
			if c.State == ContainerRunning {
				running++
				pods[uid] = true
			}
			if s, ok := prev[c.ID]; (!ok || s != c.State) && uid != "" {
				changed[uid] = true
			}
		}
		if k.metrics != nil {
			k.metrics.runningContainers.Set(float64(running))
			k.metrics.runningPods.Set(float64(len(pods)))
		}
		prev = cur
		workers := k.workers.uids()
		for uid := range changed {
			if workers[uid] {
				k.workers.poke(uid)
			} else {
				k.workers.orphan(uid)
			}
		}
	}
}

// gcLoop collects garbage every GCPeriod: sandboxes of pods no worker
// knows, dead instances of containers beyond the newest two (the current
// one and the previous, kept for lastState and previous logs), old
// sandboxes that were replaced, and the logs of removed instances.
func (k *Kubelet) gcLoop(ctx context.Context) {
	tick := time.NewTicker(k.opts.GCPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := k.collectGarbage(ctx); err != nil && ctx.Err() == nil {
			k.log.Warn("garbage collection", "err", err)
		}
	}
}

func (k *Kubelet) collectGarbage(ctx context.Context) error {
	rt := k.runtime()
	log := k.log.With("gc", true)
	sbs, err := rt.ListPodSandboxes(ctx, SandboxFilter{})
	if err != nil {
		return err
	}
	workers := k.workers.uids()
	byPod := map[types.UID][]SandboxStatus{}
	for _, sb := range sbs {
		uid := types.UID(sb.Config.Labels[labelPodUID])
		if !workers[uid] {
			k.workers.orphan(uid)
			continue
		}
		byPod[uid] = append(byPod[uid], sb)
	}
	ctrs, err := rt.ListContainers(ctx, ContainerFilter{})
	if err != nil {
		return err
	}
	type key struct {
		uid  types.UID
		name string
	}
	groups := map[key][]Container{}
	live := map[string]bool{} // sandbox ids with a live container
	for _, c := range ctrs {
		uid := types.UID(c.Labels[labelPodUID])
		groups[key{uid, c.Labels[labelContainerName]}] = append(groups[key{uid, c.Labels[labelContainerName]}], c)
		if c.State == ContainerRunning || c.State == ContainerCreated {
			live[c.SandboxID] = true
		}
	}
	for _, cs := range groups {
		slices.SortFunc(cs, func(a, b Container) int { return int(b.Attempt) - int(a.Attempt) })
		for _, c := range cs[min(2, len(cs)):] {
			if c.State == ContainerRunning {
				continue
			}
			if err := rt.RemoveContainer(ctx, c.ID); err != nil {
				return err
			}
			if p := k.logPathOf(c); p != "" {
				for _, f := range logFiles(p) {
					os.Remove(f)
				}
			}
			log.Debug("removed dead container", "container", c.Name, "attempt", c.Attempt)
		}
	}
	for _, list := range byPod {
		slices.SortFunc(list, func(a, b SandboxStatus) int { return b.CreatedAt.Compare(a.CreatedAt) })
		for _, sb := range list[1:] {
			if sb.State == SandboxReady || live[sb.ID] {
				continue
			}
			if err := rt.RemovePodSandbox(ctx, sb.ID); err != nil {
				return err
			}
			log.Debug("removed old sandbox", "sandbox", sb.ID)
		}
	}
	return nil
}

type loggerKey struct{}

func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
