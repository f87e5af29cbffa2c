package scheduler

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// FitError says why a pod fits on no node. Its message is kube-scheduler's:
//
//	0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu.
//
// one "count reason" entry per distinct reason, sorted as strings, as
// kube-scheduler sorts them (the preemption part is not produced).
type FitError struct {
	// Pod is the pod's namespace/name.
	Pod string
	// NumAllNodes is the number of nodes in the snapshot.
	NumAllNodes int
	// NodeReasons maps every refused node to the reasons of the first
	// filter plugin that refused it; NodePlugins names that plugin.
	NodeReasons map[string][]string
	NodePlugins map[string]string
	// Err is set when the pod itself could not be parsed (a malformed
	// affinity selector); the message is then Err's.
	Err error
}

// NoNodesAvailableMsg is the message when the cluster has no nodes at all.
const NoNodesAvailableMsg = "no nodes available to schedule pods"

func newFitError(pod *corev1.Pod, numAll int, failed []failure) *FitError {
	fe := &FitError{
		Pod:         pod.Namespace + "/" + pod.Name,
		NumAllNodes: numAll,
		NodeReasons: make(map[string][]string, len(failed)),
		NodePlugins: make(map[string]string, len(failed)),
	}
	for _, f := range failed {
		fe.NodeReasons[f.ni.node.Name] = f.st.reasons
		fe.NodePlugins[f.ni.node.Name] = f.st.plugin
	}
	return fe
}

// Error renders the Kubernetes-style message.
func (f *FitError) Error() string {
	if f.Err != nil {
		return fmt.Sprintf("pod %s: %v", f.Pod, f.Err)
	}
	if f.NumAllNodes == 0 {
		return NoNodesAvailableMsg
	}
	counts := make(map[string]int)
	for _, reasons := range f.NodeReasons {
		for _, r := range reasons {
			counts[r]++
		}
	}
	entries := make([]string, 0, len(counts))
	for r, n := range counts {
		entries = append(entries, fmt.Sprintf("%v %v", n, r))
	}
	sort.Strings(entries)
	msg := fmt.Sprintf("0/%v nodes are available:", f.NumAllNodes)
	if len(entries) > 0 {
		msg += fmt.Sprintf(" %v.", strings.Join(entries, ", "))
	}
	return msg
}

// Unwrap returns Err, so errors.Is/As see a parse failure.
func (f *FitError) Unwrap() error { return f.Err }
