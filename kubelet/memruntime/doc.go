// Package memruntime is an in-memory kubelet.Runtime for hollow nodes: it
// lets one process simulate hundreds of kubelets for scale tests and
// benchmarks (Kubernetes' kubemark idea). No process runs and no network
// is created: containers turn running at once or after Options.StartDelay,
// IPs come from a fake allocator over Options.PodCIDR, and what a command
// "does" (exit code, output, ignoring SIGTERM, run time) comes from
// Options.Behave. Images are names: ImportImage reads an archive's index,
// and pulls ask Options.Registry (by default a loopback registry is really
// asked over HTTP whether the manifest exists; any other reference is
// taken as present, so hollow nodes never touch the network).
//
// It passes the runtime conformance suite (kubelet/runtimetest) with
// Capabilities{} — no real processes, no real network — and is built to be
// cheap: no goroutine or timer per container, states are computed when
// read. It is a test and benchmark tool, never a silent fallback for the
// containerd runtime.
package memruntime
