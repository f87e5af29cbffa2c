package kubelet

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/dump"
)

// Labels and annotations the kubelet puts on sandboxes and containers
// (Kubernetes' own keys), by which it finds them again after a restart.
const (
	labelPodUID        = "io.kubernetes.pod.uid"
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelContainerName = "io.kubernetes.container.name"
	// annotationHash is a hash of the container's spec: a container whose
	// spec changed is restarted.
	annotationHash = "io.kubernetes.container.hash"
	// annotationInit marks init containers.
	annotationInit = "kubelet.navarch.dev/init"
)

// podState is what the runtime holds for one pod.
type podState struct {
	// sandboxes, newest first.
	sandboxes []SandboxStatus
	// containers by name, newest (highest attempt) first, with full status.
	containers map[string][]ContainerStatus
}

// sandbox returns the newest ready sandbox, or nil.
func (s *podState) sandbox() *SandboxStatus {
	for i := range s.sandboxes {
		if s.sandboxes[i].State == SandboxReady {
			return &s.sandboxes[i]
		}
	}
	return nil
}

// latest returns the newest instance of the named container in sandbox
// sandboxID, or nil.
func (s *podState) latest(name, sandboxID string) *ContainerStatus {
	for i, c := range s.containers[name] {
		if c.SandboxID == sandboxID {
			return &s.containers[name][i]
		}
	}
	return nil
}

// nextAttempt is the Attempt of the next instance of the named container.
func (s *podState) nextAttempt(name string) uint32 {
	if cs := s.containers[name]; len(cs) > 0 {
		return cs[0].Attempt + 1
	}
	return 0
}

// running lists the containers with a live process.
func (s *podState) running() []ContainerStatus {
	var out []ContainerStatus
	for _, cs := range s.containers {
		for _, c := range cs {
			if c.State == ContainerRunning || c.State == ContainerUnknown {
				out = append(out, c)
			}
		}
	}
	return out
}

// empty reports whether the runtime holds nothing of the pod.
func (s *podState) empty() bool {
	return len(s.sandboxes) == 0 && len(s.containers) == 0
}

// readPodState lists the pod's sandboxes and containers, with the full
// status of the two newest instances of each container (the current one
// and the one before, for lastState and previous logs).
func (k *Kubelet) readPodState(ctx context.Context, uid types.UID) (*podState, error) {
	rt := k.runtime()
	sel := map[string]string{labelPodUID: string(uid)}
	sbs, err := rt.ListPodSandboxes(ctx, SandboxFilter{Labels: sel})
	if err != nil {
		return nil, fmt.Errorf("list sandboxes: %w", err)
	}
	slices.SortFunc(sbs, func(a, b SandboxStatus) int { return b.CreatedAt.Compare(a.CreatedAt) })
	ctrs, err := rt.ListContainers(ctx, ContainerFilter{Labels: sel})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	byName := map[string][]Container{}
	for _, c := range ctrs {
		name := c.Labels[labelContainerName]
		if name == "" {
			name = c.Name
		}
		byName[name] = append(byName[name], c)
	}
	st := &podState{sandboxes: sbs, containers: map[string][]ContainerStatus{}}
	for name, cs := range byName {
		slices.SortFunc(cs, func(a, b Container) int {
			if a.Attempt != b.Attempt {
				return int(b.Attempt) - int(a.Attempt)
			}
			return b.CreatedAt.Compare(a.CreatedAt)
		})
		full := make([]ContainerStatus, 0, len(cs))
		for i, c := range cs {
			if i >= 2 {
				full = append(full, ContainerStatus{Container: c})
				continue
			}
			s, err := rt.ContainerStatus(ctx, c.ID)
			if errors.Is(err, ErrNotFound) {
				continue // removed meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("status of container %s: %w", c.ID, err)
			}
			full = append(full, s)
		}
		st.containers[name] = full
	}
	return st, nil
}

// containerHash hashes what of a container's spec needs a restart when it
// changes (Kubernetes hashes the whole container the same way).
func containerHash(c *corev1.Container) string {
	h := fnv.New32a()
	h.Write([]byte(dump.ForHash(c)))
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}
