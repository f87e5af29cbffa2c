// Package kubelet is navarch's node agent: it runs the pods bound to its node
// and reports their status.
//
// # The Runtime seam
//
// Everything the kubelet does to containers goes through Runtime
// (runtime.go), a CRI-shaped interface in plain Go declared here, by its
// consumer. Its comments are contracts: what comes back and which sentinel
// errors (ErrNotFound, ErrImageNotFound, ErrImagePull, ErrStartFailed …) a
// caller branches on with errors.Is.
//
// Implementations:
//
//   - kubelet/containerd: real pods on containerd + runc, one network
//     namespace per pod wired by CNI (kubelet/network). It also starts a
//     private containerd daemon when the node has none (StartDaemon).
//   - kubelet/memruntime: an in-memory runtime for hollow nodes (scale tests
//     and benchmarks); never a silent fallback.
//
// Both pass the conformance suite in kubelet/runtimetest. A new
// implementation must pass it too; Capabilities (through
// CapabilityReporter) say which parts apply (real processes, real network).
//
// # Shape of the seam
//
// A pod is one sandbox (its network namespace and IP) plus containers that
// join it. The kubelet drives them with RunPodSandbox → EnsureImage →
// CreateContainer → StartContainer, watches ContainerStatus, stops with
// StopContainer (SIGTERM, SIGKILL after the grace period) and cleans up with
// RemoveContainer / StopPodSandbox / RemovePodSandbox. A restart of a
// container is a new container with Attempt+1.
//
// The runtime keeps no state of its own that the kubelet must persist:
// labels and annotations given at creation come back from ListPodSandboxes
// and ListContainers, so a restarted kubelet adopts what runs instead of
// starting it again. Keys beginning with "io.navarch." are reserved for the
// runtime's own bookkeeping.
//
// # Callers' duties
//
// The kubelet package must not import its implementations (they import it
// for the types); cmd/navarch wires a Runtime in. Log rotation of the files
// named by ContainerConfig.LogPath is the kubelet's job (see the containerd
// package for how output is written).
package kubelet
