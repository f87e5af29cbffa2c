package scheduler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Snapshot is the scheduler's view of the cluster: every node with the
// aggregates of the pods bound to it. It is built once and then kept up to
// date incrementally (AddPod, RemovePod, UpdatePod, UpdateNode, RemoveNode),
// each update costing about what the changed object costs, so one Snapshot
// serves every decision of a long-running scheduler.
//
// A Snapshot is not safe for concurrent use: the owner serialises updates
// and Schedule calls (the shell does both from one goroutine).
type Snapshot struct {
	nodes  []*NodeInfo // nodes in insertion order; the order Schedule walks
	byName map[string]*NodeInfo
	// ghosts hold pods bound to nodes the snapshot does not know (yet):
	// their node arrives later, or it was deleted before its pods.
	ghosts map[string]*NodeInfo
	pods   map[string]*podInfo // by podKey
	// namespaceLabels serves affinity terms with a namespaceSelector.
	namespaceLabels map[string]labels.Set
	// antiAffinityPods counts bound pods with required anti-affinity, so
	// that the existing-pods check is skipped when there are none.
	antiAffinityPods int
	affinityPods     int
}

// NodeInfo is one node and the aggregates of the pods bound to it.
type NodeInfo struct {
	node  *corev1.Node
	index int // position in Snapshot.nodes; -1 for a ghost

	allocatable Resource
	requested   Resource
	// nonZeroCPU and nonZeroMem are what the pods count for scoring.
	nonZeroCPU int64
	nonZeroMem int64

	pods                      []*podInfo
	podsWithAffinity          []*podInfo
	podsWithRequiredAntiAff   []*podInfo
	ports                     map[hostPort]int
	portsByProtocolPort       map[protocolPort]int
	owners                    map[types.UID]int32
	zone                      string
	unschedulable             bool
	taintsNoScheduleOrExecute []corev1.Taint
	taintsPreferNoSchedule    []corev1.Taint
}

type protocolPort struct {
	protocol corev1.Protocol
	port     int32
}

// NewSnapshot builds a Snapshot from nodes and the pods bound to them
// (spec.nodeName set). Pods that are not bound or that have terminated are
// ignored. It fails only on a pod whose affinity selector does not parse.
func NewSnapshot(nodes []*corev1.Node, pods []*corev1.Pod) (*Snapshot, error) {
	s := &Snapshot{
		byName:          make(map[string]*NodeInfo, len(nodes)),
		ghosts:          make(map[string]*NodeInfo),
		pods:            make(map[string]*podInfo, len(pods)),
		namespaceLabels: make(map[string]labels.Set),
	}
	for _, n := range nodes {
		s.UpdateNode(n)
	}
	for _, p := range pods {
		if err := s.AddPod(p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// NumNodes returns the number of known nodes.
func (s *Snapshot) NumNodes() int { return len(s.nodes) }

// NumPods returns the number of bound pods the snapshot accounts for,
// including those on nodes it does not know yet.
func (s *Snapshot) NumPods() int { return len(s.pods) }

// NodeInfo returns the named node's aggregates, or nil when it is unknown.
// The result is read-only and valid until the next update.
func (s *Snapshot) NodeInfo(name string) *NodeInfo { return s.byName[name] }

// SetNamespaceLabels records a namespace's labels, which affinity terms with
// a namespaceSelector match against. Unknown namespaces have no labels.
func (s *Snapshot) SetNamespaceLabels(namespace string, l map[string]string) {
	if l == nil {
		delete(s.namespaceLabels, namespace)
		return
	}
	s.namespaceLabels[namespace] = labels.Set(l)
}

// UpdateNode adds the node or replaces the stored copy; the pods bound to
// it keep counting.
func (s *Snapshot) UpdateNode(n *corev1.Node) {
	ni, ok := s.byName[n.Name]
	if !ok {
		if g, ok := s.ghosts[n.Name]; ok {
			ni = g
			delete(s.ghosts, n.Name)
		} else {
			ni = newNodeInfo()
		}
		ni.index = len(s.nodes)
		s.nodes = append(s.nodes, ni)
		s.byName[n.Name] = ni
	}
	ni.setNode(n)
}

// RemoveNode forgets the node. Pods still bound to it are kept aside and
// count again if the node comes back.
func (s *Snapshot) RemoveNode(name string) {
	ni, ok := s.byName[name]
	if !ok {
		return
	}
	delete(s.byName, name)
	copy(s.nodes[ni.index:], s.nodes[ni.index+1:])
	s.nodes[len(s.nodes)-1] = nil
	s.nodes = s.nodes[:len(s.nodes)-1]
	for i := ni.index; i < len(s.nodes); i++ {
		s.nodes[i].index = i
	}
	ni.index = -1
	if len(ni.pods) > 0 {
		s.ghosts[name] = ni
	}
}

// AddPod accounts for a pod bound to pod.Spec.NodeName. A pod without a
// node or in a terminal phase is ignored; adding a pod already present
// replaces it. It fails only on an affinity selector that does not parse.
func (s *Snapshot) AddPod(pod *corev1.Pod) error {
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		s.RemovePod(pod)
		return nil
	}
	pi, err := newPodInfo(pod)
	if err != nil {
		return fmt.Errorf("add pod to snapshot: %w", err)
	}
	s.addPodInfo(pi)
	return nil
}

func (s *Snapshot) addPodInfo(pi *podInfo) {
	s.removeKey(pi.key)
	name := pi.pod.Spec.NodeName
	ni, ok := s.byName[name]
	if !ok {
		if ni, ok = s.ghosts[name]; !ok {
			ni = newNodeInfo()
			ni.index = -1
			s.ghosts[name] = ni
		}
	}
	ni.addPod(pi)
	s.pods[pi.key] = pi
	if len(pi.requiredAntiAffinity) > 0 {
		s.antiAffinityPods++
	}
	if pi.hasAffinity() {
		s.affinityPods++
	}
}

// RemovePod stops accounting for the pod (by UID, or namespace/name when
// it has no UID). Removing an unknown pod does nothing.
func (s *Snapshot) RemovePod(pod *corev1.Pod) { s.removeKey(podKey(pod)) }

// UpdatePod replaces the stored copy of a pod: it may have moved to a node,
// terminated, or changed labels. It fails like AddPod.
func (s *Snapshot) UpdatePod(pod *corev1.Pod) error { return s.AddPod(pod) }

func (s *Snapshot) removeKey(key string) {
	pi, ok := s.pods[key]
	if !ok {
		return
	}
	delete(s.pods, key)
	if len(pi.requiredAntiAffinity) > 0 {
		s.antiAffinityPods--
	}
	if pi.hasAffinity() {
		s.affinityPods--
	}
	name := pi.pod.Spec.NodeName
	if ni, ok := s.byName[name]; ok {
		ni.removePod(pi)
		return
	}
	if g, ok := s.ghosts[name]; ok {
		g.removePod(pi)
		if len(g.pods) == 0 {
			delete(s.ghosts, name)
		}
	}
}

func newNodeInfo() *NodeInfo {
	return &NodeInfo{
		ports:               make(map[hostPort]int),
		portsByProtocolPort: make(map[protocolPort]int),
		owners:              make(map[types.UID]int32),
	}
}

func (ni *NodeInfo) setNode(n *corev1.Node) {
	ni.node = n
	ni.allocatable = resourceFromList(n.Status.Allocatable)
	ni.unschedulable = n.Spec.Unschedulable
	ni.zone = zoneKey(n)
	ni.taintsNoScheduleOrExecute = ni.taintsNoScheduleOrExecute[:0]
	ni.taintsPreferNoSchedule = ni.taintsPreferNoSchedule[:0]
	for _, t := range n.Spec.Taints {
		switch t.Effect {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute:
			ni.taintsNoScheduleOrExecute = append(ni.taintsNoScheduleOrExecute, t)
		case corev1.TaintEffectPreferNoSchedule:
			ni.taintsPreferNoSchedule = append(ni.taintsPreferNoSchedule, t)
		}
	}
}

// zoneKey is SelectorSpread's zone identity: region and zone together.
func zoneKey(n *corev1.Node) string {
	region := n.Labels[corev1.LabelTopologyRegion]
	zone := n.Labels[corev1.LabelTopologyZone]
	if region == "" && zone == "" {
		return ""
	}
	return region + ":\x00:" + zone
}

func (ni *NodeInfo) addPod(pi *podInfo) {
	ni.pods = append(ni.pods, pi)
	if pi.hasAffinity() {
		ni.podsWithAffinity = append(ni.podsWithAffinity, pi)
	}
	if len(pi.requiredAntiAffinity) > 0 {
		ni.podsWithRequiredAntiAff = append(ni.podsWithRequiredAntiAff, pi)
	}
	ni.update(pi, 1)
}

func (ni *NodeInfo) removePod(pi *podInfo) {
	var found bool
	if ni.pods, found = removeFrom(ni.pods, pi); !found {
		return
	}
	ni.podsWithAffinity, _ = removeFrom(ni.podsWithAffinity, pi)
	ni.podsWithRequiredAntiAff, _ = removeFrom(ni.podsWithRequiredAntiAff, pi)
	ni.update(pi, -1)
}

func removeFrom(s []*podInfo, pi *podInfo) ([]*podInfo, bool) {
	for i := range s {
		if s[i] == pi {
			last := len(s) - 1
			s[i] = s[last]
			s[last] = nil
			return s[:last], true
		}
	}
	return s, false
}

func (ni *NodeInfo) update(pi *podInfo, sign int64) {
	ni.requested.add(&pi.req, sign)
	ni.nonZeroCPU += sign * pi.nonZeroCPU
	ni.nonZeroMem += sign * pi.nonZeroMem
	for _, hp := range pi.ports {
		pp := protocolPort{protocol: hp.protocol, port: hp.port}
		ni.ports[hp] += int(sign)
		ni.portsByProtocolPort[pp] += int(sign)
		if ni.ports[hp] <= 0 {
			delete(ni.ports, hp)
		}
		if ni.portsByProtocolPort[pp] <= 0 {
			delete(ni.portsByProtocolPort, pp)
		}
	}
	// Pods being deleted do not count toward spreading, as in SelectorSpread.
	if pi.owner != "" && pi.pod.DeletionTimestamp == nil {
		ni.owners[pi.owner] += int32(sign)
		if ni.owners[pi.owner] <= 0 {
			delete(ni.owners, pi.owner)
		}
	}
}

// Node returns the node object.
func (ni *NodeInfo) Node() *corev1.Node { return ni.node }

// Requested returns the sum of the requests of the pods bound to the node.
func (ni *NodeInfo) Requested() Resource { return ni.requested }

// Allocatable returns the node's allocatable resources.
func (ni *NodeInfo) Allocatable() Resource { return ni.allocatable }

// NumPods returns the number of pods bound to the node.
func (ni *NodeInfo) NumPods() int { return len(ni.pods) }

// PodsOf returns how many pods of the controller with the given UID run on
// the node (pods being deleted not counted).
func (ni *NodeInfo) PodsOf(owner types.UID) int { return int(ni.owners[owner]) }

// portConflict reports whether hp clashes with a port in use: 0.0.0.0
// clashes with the same protocol and port on any address, and a specific
// address clashes with itself and with 0.0.0.0.
func (ni *NodeInfo) portConflict(hp hostPort) bool {
	if hp.ip == bindAllHostIP {
		return ni.portsByProtocolPort[protocolPort{protocol: hp.protocol, port: hp.port}] > 0
	}
	if ni.ports[hp] > 0 {
		return true
	}
	wild := hp
	wild.ip = bindAllHostIP
	return ni.ports[wild] > 0
}
