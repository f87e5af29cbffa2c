package scheduler

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Sampling bounds, as in kube-scheduler.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// ErrInvalidOptions is returned by Options.Validate and New.
var ErrInvalidOptions = errors.New("invalid scheduler options")

// Options configure a Scheduler.
type Options struct {
	// PercentageOfNodesToScore bounds how many feasible nodes a decision
	// looks for before it stops filtering and scores them: 0 means
	// adaptive (50% − 1% per 125 nodes, at least 5%), 100 means all.
	// Fewer than 100 nodes are always all examined.
	PercentageOfNodesToScore int32
	// Weights of the score plugins; nil means DefaultWeights.
	Weights *Weights
	// Seed varies the tie-break between equally scored nodes. Decisions
	// are a function of (snapshot, pod, seed, decision history).
	Seed uint64
}

// Validate reports options out of range, wrapping ErrInvalidOptions.
func (o Options) Validate() error {
	if o.PercentageOfNodesToScore < 0 || o.PercentageOfNodesToScore > 100 {
		return fmt.Errorf("%w: percentageOfNodesToScore %d not in 0..100", ErrInvalidOptions, o.PercentageOfNodesToScore)
	}
	if w := o.Weights; w != nil {
		for _, v := range []int64{w.NodeResourcesFit, w.NodeResourcesBalancedAllocation, w.TaintToleration,
			w.NodeAffinity, w.InterPodAffinity, w.SelectorSpread} {
			if v < 0 {
				return fmt.Errorf("%w: negative score weight %d", ErrInvalidOptions, v)
			}
		}
	}
	return nil
}

// Scheduler makes placement decisions. It holds no cluster state, only the
// position where the next decision starts walking the nodes (so that
// sampling visits every node in turn, as kube-scheduler's
// nextStartNodeIndex does) and scratch space. Not safe for concurrent use.
type Scheduler struct {
	opts      Options
	weights   Weights
	nextStart int

	feasible []*NodeInfo
	failed   []failure
	raw      [len(scorePlugins)][]int64
	totals   []int64
}

type failure struct {
	ni *NodeInfo
	st *status
}

// New returns a Scheduler, or an error wrapping ErrInvalidOptions.
func New(opts Options) (*Scheduler, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	w := DefaultWeights()
	if opts.Weights != nil {
		w = *opts.Weights
	}
	return &Scheduler{opts: opts, weights: w}, nil
}

// Responsible reports whether the scheduler named name schedules pod: its
// spec.schedulerName is name, or empty and name is the default scheduler's.
func Responsible(pod *corev1.Pod, name string) bool {
	if pod.Spec.SchedulerName == "" {
		return name == corev1.DefaultSchedulerName
	}
	return pod.Spec.SchedulerName == name
}

// Result is a placement decision.
type Result struct {
	// NodeName is the chosen node.
	NodeName string
	// Feasible is how many nodes passed every filter; Evaluated is how
	// many were filtered before the search stopped (see doc.go, sampling).
	Feasible  int
	Evaluated int
	// Score is the chosen node's weighted total and Scores its parts;
	// both are empty when only one node was feasible (nothing to compare).
	Score  int64
	Scores []PluginScore
}

// String explains the decision in one line.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "assigned to %s: %d of %d evaluated node(s) feasible", r.NodeName, r.Feasible, r.Evaluated)
	if len(r.Scores) > 0 {
		fmt.Fprintf(&b, "; score %d (", r.Score)
		for i, s := range r.Scores {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d×%d", s.Plugin, s.Weight, s.Score)
		}
		b.WriteString(")")
	}
	return b.String()
}

// Schedule chooses a node for pod from snap. It filters nodes starting
// where the previous decision stopped until it has found the sample size of
// feasible nodes (or seen every node), scores those, and picks the highest
// total; ties go to the node with the smallest hash of (seed, pod, node).
// When no node fits it returns a *FitError naming every node's reason.
// Schedule does not change snap: the caller binds the pod and then adds it
// to snap (AddPod) before the next decision.
func (s *Scheduler) Schedule(snap *Snapshot, pod *corev1.Pod) (Result, *FitError) {
	n := len(snap.nodes)
	if n == 0 {
		return Result{}, &FitError{Pod: pod.Namespace + "/" + pod.Name}
	}
	pi, err := newPodInfo(pod)
	if err != nil {
		return Result{}, &FitError{Pod: pod.Namespace + "/" + pod.Name, NumAllNodes: n, Err: err}
	}
	c := newCycle(snap, pi)
	want := numFeasibleNodesToFind(s.opts.PercentageOfNodesToScore, n)
	s.feasible, s.failed = s.feasible[:0], s.failed[:0]
	start := s.nextStart % n
	evaluated := 0
	for ; evaluated < n && len(s.feasible) < want; evaluated++ {
		ni := snap.nodes[(start+evaluated)%n]
		if st := c.runFilters(ni); st != nil {
			s.failed = append(s.failed, failure{ni, st})
			continue
		}
		s.feasible = append(s.feasible, ni)
	}
	s.nextStart = (start + evaluated) % n
	if len(s.feasible) == 0 {
		return Result{}, newFitError(pod, n, s.failed)
	}
	res := Result{Feasible: len(s.feasible), Evaluated: evaluated}
	if len(s.feasible) == 1 {
		res.NodeName = s.feasible[0].node.Name
		return res, nil
	}
	used := s.score(c, s.feasible)
	best := s.selectHost(pi.key, s.feasible)
	res.NodeName = s.feasible[best].node.Name
	res.Score = s.totals[best]
	for p := range scorePlugins {
		if used[p] {
			res.Scores = append(res.Scores, PluginScore{
				Plugin: scorePlugins[p].name, Score: s.raw[p][best], Weight: scorePlugins[p].weight(&s.weights),
			})
		}
	}
	return res, nil
}

// score runs every score plugin over feasible, leaving per-plugin scores in
// s.raw and weighted totals in s.totals. It reports which plugins ran.
func (s *Scheduler) score(c *cycle, feasible []*NodeInfo) (used [len(scorePlugins)]bool) {
	k := len(feasible)
	s.totals = grow(s.totals, k)
	clear(s.totals)
	for p := range scorePlugins {
		s.raw[p] = grow(s.raw[p], k)
		out := s.raw[p]
		if !scorePlugins[p].score(c, feasible, out) {
			continue
		}
		used[p] = true
		w := scorePlugins[p].weight(&s.weights)
		for i := range out {
			s.totals[i] += w * out[i]
		}
	}
	return used
}

func grow(b []int64, n int) []int64 {
	if cap(b) < n {
		return make([]int64, n)
	}
	return b[:n]
}

// selectHost returns the index of the best total; among equals, the one
// whose node name hashes lowest with the seed and pod key.
func (s *Scheduler) selectHost(podKey string, feasible []*NodeInfo) int {
	best, bestHash := -1, uint64(0)
	for i, ni := range feasible {
		if best >= 0 && s.totals[i] < s.totals[best] {
			continue
		}
		h := tieHash(s.opts.Seed, podKey, ni.node.Name)
		if best < 0 || s.totals[i] > s.totals[best] || h < bestHash {
			best, bestHash = i, h
		}
	}
	return best
}

// tieHash is FNV-1a over seed, pod key and node name, without allocating.
func tieHash(seed uint64, podKey, node string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < 8; i++ {
		h ^= (seed >> (8 * i)) & 0xff
		h *= prime
	}
	for i := 0; i < len(podKey); i++ {
		h ^= uint64(podKey[i])
		h *= prime
	}
	h ^= '/'
	h *= prime
	for i := 0; i < len(node); i++ {
		h ^= uint64(node[i])
		h *= prime
	}
	return h
}

// numFeasibleNodesToFind is kube-scheduler's sample size: every node below
// 100 nodes; otherwise percentage of the nodes (adaptive when 0: 50% minus
// 1% per 125 nodes, at least 5%), and at least 100.
func numFeasibleNodesToFind(percentage int32, numAllNodes int) int {
	if numAllNodes < minFeasibleNodesToFind {
		return numAllNodes
	}
	if percentage == 0 {
		percentage = int32(50 - numAllNodes/125)
		if percentage < minFeasibleNodesPercentageToFind {
			percentage = minFeasibleNodesPercentageToFind
		}
	}
	num := numAllNodes * int(percentage) / 100
	if num < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return num
}

// NodeVerdict is how one node fared for a pod: refused by a filter plugin
// with reasons, or feasible with its scores.
type NodeVerdict struct {
	Node    string
	Plugin  string
	Reasons []string
	Scores  []PluginScore
	Total   int64
}

// Explain runs every filter on every node (no sampling) and scores all
// feasible nodes, returning one verdict per node in snapshot order, and the
// node Schedule would choose among all of them ("" when none fits). It does
// not move the scheduler's start position. It is for tests, `describe`-style
// tooling and debugging, not for the hot path.
func (s *Scheduler) Explain(snap *Snapshot, pod *corev1.Pod) ([]NodeVerdict, string, error) {
	pi, err := newPodInfo(pod)
	if err != nil {
		return nil, "", err
	}
	c := newCycle(snap, pi)
	out := make([]NodeVerdict, len(snap.nodes))
	var feasible []*NodeInfo
	var idx []int
	for i, ni := range snap.nodes {
		out[i].Node = ni.node.Name
		if st := c.runFilters(ni); st != nil {
			out[i].Plugin, out[i].Reasons = st.plugin, st.reasons
			continue
		}
		feasible = append(feasible, ni)
		idx = append(idx, i)
	}
	if len(feasible) == 0 {
		return out, "", nil
	}
	used := s.score(c, feasible)
	for j, i := range idx {
		out[i].Total = s.totals[j]
		for p := range scorePlugins {
			if used[p] {
				out[i].Scores = append(out[i].Scores, PluginScore{
					Plugin: scorePlugins[p].name, Score: s.raw[p][j], Weight: scorePlugins[p].weight(&s.weights),
				})
			}
		}
	}
	chosen := feasible[0].node.Name
	if len(feasible) > 1 {
		chosen = feasible[s.selectHost(pi.key, feasible)].node.Name
	}
	return out, chosen, nil
}
