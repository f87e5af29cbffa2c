package scheduler

import (
	"math"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// MaxNodeScore is the most a score plugin gives a node, before weighting.
const MaxNodeScore int64 = 100

// Score plugin names. NodeResourcesFit scores with the LeastAllocated
// strategy; SelectorSpread spreads the pods of one controller.
const (
	PluginNodeResourcesBalancedAllocation = "NodeResourcesBalancedAllocation"
	PluginSelectorSpread                  = "SelectorSpread"
)

// zoneWeighting is how much of SelectorSpread's score comes from zones when
// nodes carry zone labels (kube-scheduler's 2/3).
const zoneWeighting = 2.0 / 3.0

// Weights are the score plugins' weights. The defaults are kube-scheduler's
// (SelectorSpread takes the weight of PodTopologySpread, whose system
// default constraints it stands in for).
type Weights struct {
	NodeResourcesFit                int64
	NodeResourcesBalancedAllocation int64
	TaintToleration                 int64
	NodeAffinity                    int64
	InterPodAffinity                int64
	SelectorSpread                  int64
}

// DefaultWeights returns kube-scheduler's default score weights.
func DefaultWeights() Weights {
	return Weights{
		NodeResourcesFit:                1,
		NodeResourcesBalancedAllocation: 1,
		TaintToleration:                 3,
		NodeAffinity:                    2,
		InterPodAffinity:                2,
		SelectorSpread:                  2,
	}
}

// PluginScore is one plugin's normalised score (0..MaxNodeScore) for a
// node and the weight it was multiplied by.
type PluginScore struct {
	Plugin string
	Score  int64
	Weight int64
}

// scorePlugin fills out[i] with its normalised score for feasible[i], or
// returns false to skip (contributing nothing), as a PreScore Skip does.
type scorePlugin struct {
	name   string
	weight func(*Weights) int64
	score  func(c *cycle, feasible []*NodeInfo, out []int64) bool
}

var scorePlugins = [...]scorePlugin{
	{PluginNodeResourcesFit, func(w *Weights) int64 { return w.NodeResourcesFit }, scoreLeastAllocated},
	{PluginNodeResourcesBalancedAllocation, func(w *Weights) int64 { return w.NodeResourcesBalancedAllocation }, scoreBalanced},
	{PluginTaintToleration, func(w *Weights) int64 { return w.TaintToleration }, scoreTaints},
	{PluginNodeAffinity, func(w *Weights) int64 { return w.NodeAffinity }, scoreNodeAffinity},
	{PluginInterPodAffinity, func(w *Weights) int64 { return w.InterPodAffinity }, scoreInterPod},
	{PluginSelectorSpread, func(w *Weights) int64 { return w.SelectorSpread }, scoreSpread},
}

// scoreLeastAllocated favours nodes with more room left, averaging cpu and
// memory with equal weights, using the non-zero requests.
func scoreLeastAllocated(c *cycle, feasible []*NodeInfo, out []int64) bool {
	for i, ni := range feasible {
		var sum, n int64
		if a := ni.allocatable.MilliCPU; a > 0 {
			sum += leastRequested(ni.nonZeroCPU+c.pi.nonZeroCPU, a)
			n++
		}
		if a := ni.allocatable.Memory; a > 0 {
			sum += leastRequested(ni.nonZeroMem+c.pi.nonZeroMem, a)
			n++
		}
		if n > 0 {
			out[i] = sum / n
		} else {
			out[i] = 0
		}
	}
	return true
}

func leastRequested(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * MaxNodeScore / capacity
}

// scoreBalanced favours nodes whose cpu and memory would be used in equal
// fractions: 100 × (1 − standard deviation of the fractions). Pods that
// request nothing are not scored, as in kube-scheduler.
func scoreBalanced(c *cycle, feasible []*NodeInfo, out []int64) bool {
	if c.pi.req.MilliCPU == 0 && c.pi.req.Memory == 0 {
		return false
	}
	for i, ni := range feasible {
		var fr [2]float64
		n := 0
		if a := ni.allocatable.MilliCPU; a > 0 {
			fr[n] = math.Min(1, float64(ni.requested.MilliCPU+c.pi.req.MilliCPU)/float64(a))
			n++
		}
		if a := ni.allocatable.Memory; a > 0 {
			fr[n] = math.Min(1, float64(ni.requested.Memory+c.pi.req.Memory)/float64(a))
			n++
		}
		std := 0.0
		if n == 2 {
			std = math.Abs((fr[0] - fr[1]) / 2)
		}
		out[i] = int64((1 - std) * float64(MaxNodeScore))
	}
	return true
}

// scoreTaints favours nodes with fewer PreferNoSchedule taints the pod does
// not tolerate.
func scoreTaints(c *cycle, feasible []*NodeInfo, out []int64) bool {
	var tols []corev1.Toleration
	for _, t := range c.pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	for i, ni := range feasible {
		var n int64
		for j := range ni.taintsPreferNoSchedule {
			if !tolerated(tols, &ni.taintsPreferNoSchedule[j]) {
				n++
			}
		}
		out[i] = n
	}
	normalizeDefault(out, true)
	return true
}

// scoreNodeAffinity sums the weights of the preferred node affinity terms
// each node matches.
func scoreNodeAffinity(c *cycle, feasible []*NodeInfo, out []int64) bool {
	aff := c.pod.Spec.Affinity
	if aff == nil || aff.NodeAffinity == nil || len(aff.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return false
	}
	terms, err := nodeaffinity.NewPreferredSchedulingTerms(aff.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	if err != nil {
		return false
	}
	for i, ni := range feasible {
		out[i] = terms.Score(ni.node)
	}
	normalizeDefault(out, false)
	return true
}

func scoreInterPod(c *cycle, feasible []*NodeInfo, out []int64) bool {
	scores := interPodScores(c.snap, c.pi)
	if scores == nil {
		return false
	}
	for i, ni := range feasible {
		out[i] = interPodNodeScore(scores, ni.node)
	}
	normalizeMinMax(out)
	return true
}

// scoreSpread favours nodes, and zones, running fewer pods of the pod's
// controller, as SelectorSpread did.
func scoreSpread(c *cycle, feasible []*NodeInfo, out []int64) bool {
	owner := c.pi.owner
	if owner == "" {
		return false
	}
	var maxNode, maxZone int64
	var zones map[string]int64
	for i, ni := range feasible {
		n := int64(ni.owners[owner])
		out[i] = n
		maxNode = max(maxNode, n)
		if ni.zone != "" {
			if zones == nil {
				zones = make(map[string]int64)
			}
			zones[ni.zone] += n
		}
	}
	for _, n := range zones {
		maxZone = max(maxZone, n)
	}
	maxF := float64(MaxNodeScore)
	for i, ni := range feasible {
		f := maxF
		if maxNode > 0 {
			f = maxF * float64(maxNode-out[i]) / float64(maxNode)
		}
		if zones != nil && ni.zone != "" {
			z := maxF
			if maxZone > 0 {
				z = maxF * float64(maxZone-zones[ni.zone]) / float64(maxZone)
			}
			f = f*(1-zoneWeighting) + zoneWeighting*z
		}
		out[i] = int64(f)
	}
	return true
}

// normalizeDefault is kube-scheduler's DefaultNormalizeScore: scale to
// 0..MaxNodeScore by the largest raw score, reversed when lower is better.
func normalizeDefault(raw []int64, reverse bool) {
	var maxC int64
	for _, v := range raw {
		maxC = max(maxC, v)
	}
	if maxC == 0 {
		if reverse {
			for i := range raw {
				raw[i] = MaxNodeScore
			}
		}
		return
	}
	for i := range raw {
		v := MaxNodeScore * raw[i] / maxC
		if reverse {
			v = MaxNodeScore - v
		}
		raw[i] = v
	}
}

func sortedScalarNames(m map[corev1.ResourceName]int64) []corev1.ResourceName {
	if len(m) == 0 {
		return nil
	}
	names := make([]corev1.ResourceName, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
