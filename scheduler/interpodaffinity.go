package scheduler

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// topologyPair is one topology domain: a node label key and its value.
type topologyPair struct {
	key   string
	value string
}

// interPodState is InterPodAffinity's PreFilter result for one pod: how many
// pods (or terms) match per topology domain.
type interPodState struct {
	// existing counts the domains where an existing pod's required
	// anti-affinity term selects the incoming pod.
	existing map[topologyPair]int64
	// affinity counts, per domain of each of the incoming pod's required
	// affinity terms, the existing pods matching all of those terms.
	affinity map[topologyPair]int64
	// anti counts, per domain, the existing pods matching one of the
	// incoming pod's required anti-affinity terms.
	anti map[topologyPair]int64
	// selfMatch: the incoming pod matches all its own affinity terms, so it
	// may start a group when no other pod matches them anywhere.
	selfMatch bool
	active    bool
}

func (s *Snapshot) nsLabels(ns string) labels.Set { return s.namespaceLabels[ns] }

// newInterPodState is kube-scheduler's InterPodAffinity PreFilter. It walks
// only nodes holding pods with required anti-affinity unless the incoming
// pod has required terms of its own, so plain pods pay nothing here.
func newInterPodState(s *Snapshot, pi *podInfo) interPodState {
	var st interPodState
	pod := pi.pod
	incomingNS := s.nsLabels(pod.Namespace)
	if s.antiAffinityPods > 0 {
		for _, ni := range s.nodes {
			for _, ex := range ni.podsWithRequiredAntiAff {
				for i := range ex.requiredAntiAffinity {
					t := &ex.requiredAntiAffinity[i]
					if v, ok := ni.node.Labels[t.topologyKey]; ok && t.matches(pod, incomingNS) {
						if st.existing == nil {
							st.existing = make(map[topologyPair]int64)
						}
						st.existing[topologyPair{t.topologyKey, v}]++
					}
				}
			}
		}
	}
	if len(pi.requiredAffinity) > 0 || len(pi.requiredAntiAffinity) > 0 {
		st.affinity = make(map[topologyPair]int64)
		st.anti = make(map[topologyPair]int64)
		for _, ni := range s.nodes {
			for _, ex := range ni.pods {
				exNS := s.nsLabels(ex.pod.Namespace)
				if matchesAll(pi.requiredAffinity, ex.pod, exNS) {
					for i := range pi.requiredAffinity {
						t := &pi.requiredAffinity[i]
						if v, ok := ni.node.Labels[t.topologyKey]; ok {
							st.affinity[topologyPair{t.topologyKey, v}]++
						}
					}
				}
				for i := range pi.requiredAntiAffinity {
					t := &pi.requiredAntiAffinity[i]
					if v, ok := ni.node.Labels[t.topologyKey]; ok && t.matches(ex.pod, exNS) {
						st.anti[topologyPair{t.topologyKey, v}]++
					}
				}
			}
		}
		st.selfMatch = matchesAll(pi.requiredAffinity, pod, incomingNS)
	}
	st.active = len(st.existing) > 0 || st.affinity != nil
	return st
}

func matchesAll(terms []affinityTerm, p *corev1.Pod, nsLabels labels.Set) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matches(p, nsLabels) {
			return false
		}
	}
	return true
}

// filterInterPodAffinity checks, in kube-scheduler's order, the incoming
// pod's required affinity, its required anti-affinity, and the required
// anti-affinity of the pods already running.
func filterInterPodAffinity(c *cycle, ni *NodeInfo) *status {
	st := &c.ipa
	if !st.active {
		return nil
	}
	nodeLabels := ni.node.Labels
	if !satisfiesAffinity(c.pi, st, nodeLabels) {
		return refuse(ReasonPodAffinity)
	}
	if len(st.anti) > 0 {
		for i := range c.pi.requiredAntiAffinity {
			t := &c.pi.requiredAntiAffinity[i]
			if v, ok := nodeLabels[t.topologyKey]; ok && st.anti[topologyPair{t.topologyKey, v}] > 0 {
				return refuse(ReasonPodAntiAffinity)
			}
		}
	}
	if len(st.existing) > 0 {
		// Walk whichever is smaller: the node's labels or the domains.
		if len(nodeLabels) <= len(st.existing) {
			for k, v := range nodeLabels {
				if st.existing[topologyPair{k, v}] > 0 {
					return refuse(ReasonExistingPodsAntiAffinity)
				}
			}
		} else {
			for tp, n := range st.existing {
				if v, ok := nodeLabels[tp.key]; ok && v == tp.value && n > 0 {
					return refuse(ReasonExistingPodsAntiAffinity)
				}
			}
		}
	}
	return nil
}

// satisfiesAffinity: every required affinity term's topology key is on the
// node and its domain holds a matching pod — or no pod anywhere matches and
// the pod matches its own terms (the first pod of a group).
func satisfiesAffinity(pi *podInfo, st *interPodState, nodeLabels map[string]string) bool {
	podsExist := true
	for i := range pi.requiredAffinity {
		t := &pi.requiredAffinity[i]
		v, ok := nodeLabels[t.topologyKey]
		if !ok {
			return false
		}
		if st.affinity[topologyPair{t.topologyKey, v}] <= 0 {
			podsExist = false
		}
	}
	if !podsExist {
		return len(st.affinity) == 0 && st.selfMatch
	}
	return true
}

// interPodScores is InterPodAffinity's PreScore: a weight per topology
// domain, from the incoming pod's preferred terms against existing pods and
// from existing pods' terms against the incoming pod (required affinity
// counting with the hard-affinity weight 1). nil means the plugin is
// skipped for this pod.
func interPodScores(s *Snapshot, pi *podInfo) map[string]map[string]int64 {
	hasPreferred := len(pi.preferredAffinity)+len(pi.preferredAnti) > 0
	if !hasPreferred && s.affinityPods == 0 {
		return nil
	}
	pod := pi.pod
	incomingNS := s.nsLabels(pod.Namespace)
	scores := make(map[string]map[string]int64)
	add := func(t *affinityTerm, weight int64, p *corev1.Pod, nsLabels labels.Set, node *corev1.Node) {
		if v, ok := node.Labels[t.topologyKey]; ok && t.matches(p, nsLabels) {
			m := scores[t.topologyKey]
			if m == nil {
				m = make(map[string]int64)
				scores[t.topologyKey] = m
			}
			m[v] += weight
		}
	}
	for _, ni := range s.nodes {
		if len(ni.node.Labels) == 0 {
			continue
		}
		existing := ni.podsWithAffinity
		if hasPreferred {
			existing = ni.pods
		}
		for _, ex := range existing {
			exNS := s.nsLabels(ex.pod.Namespace)
			for i := range pi.preferredAffinity {
				add(&pi.preferredAffinity[i].affinityTerm, pi.preferredAffinity[i].weight, ex.pod, exNS, ni.node)
			}
			for i := range pi.preferredAnti {
				add(&pi.preferredAnti[i].affinityTerm, -pi.preferredAnti[i].weight, ex.pod, exNS, ni.node)
			}
			for i := range ex.requiredAffinity {
				add(&ex.requiredAffinity[i], hardPodAffinityWeight, pod, incomingNS, ni.node)
			}
			for i := range ex.preferredAffinity {
				add(&ex.preferredAffinity[i].affinityTerm, ex.preferredAffinity[i].weight, pod, incomingNS, ni.node)
			}
			for i := range ex.preferredAnti {
				add(&ex.preferredAnti[i].affinityTerm, -ex.preferredAnti[i].weight, pod, incomingNS, ni.node)
			}
		}
	}
	if len(scores) == 0 {
		return nil
	}
	return scores
}

// hardPodAffinityWeight is kube-scheduler's default HardPodAffinityWeight.
const hardPodAffinityWeight = 1

func interPodNodeScore(scores map[string]map[string]int64, node *corev1.Node) int64 {
	var total int64
	for key, values := range scores {
		if v, ok := node.Labels[key]; ok {
			total += values[v]
		}
	}
	return total
}

// normalizeMinMax maps raw scores linearly onto 0..MaxNodeScore.
func normalizeMinMax(raw []int64) {
	minC, maxC := int64(math.MaxInt64), int64(math.MinInt64)
	for _, v := range raw {
		minC = min(minC, v)
		maxC = max(maxC, v)
	}
	diff := maxC - minC
	for i := range raw {
		f := 0.0
		if diff > 0 {
			f = float64(MaxNodeScore) * (float64(raw[i]-minC) / float64(diff))
		}
		raw[i] = int64(f)
	}
}
