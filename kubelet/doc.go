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
// # The node agent
//
// Kubelet (kubelet.go) is the agent itself: New(Options) binds its ports,
// Run registers the Node and runs until its context ends. It is a client
// of the API server like any other: it writes only its Node (and status),
// its Lease in kube-node-lease and the status of its pods, and deletes
// its pods once they stopped.
//
//   - Node (node.go, machine.go): capacity and allocatable (cores, memory,
//     pods=MaxPods, ephemeral storage), InternalIP and Hostname, nodeInfo
//     (OS image, kernel, "containerd://<version>"), and the conditions
//     Ready (the runtime answers Ping; KubeletNotReady with the reason
//     otherwise), MemoryPressure, DiskPressure and PIDPressure (Kubernetes'
//     eviction thresholds). Status is computed every
//     NodeStatusUpdateFrequency and written only when it changed, or every
//     NodeStatusReportFrequency; the Lease (lease.go) is renewed every
//     LeaseRenewInterval.
//   - Pod CIDR: with NewRuntime the kubelet waits for spec.podCIDR (the
//     node-IPAM controller in package controllers assigns a /24) and then
//     makes the runtime, which wires CNI for it.
//   - Pods (podsource.go, podworkers.go, sync.go): an informer on pods with
//     spec.nodeName=<node> (or a SharedPodSource, one watch shared by many
//     hollow nodes; its cache holds pods without their managed fields)
//     feeds one worker goroutine per pod. A worker converges:
//     sandbox, init containers in order, app containers; restarts under
//     restartPolicy with the crash back-off (backoff.go: at once, then 10 s
//     doubling to 5 min, reset after 10 min of running); pulls images as
//     imagePullPolicy says with their own back-off; kills on a failed
//     liveness or startup probe (probes.go); stops a deleted pod with
//     SIGTERM, SIGKILL after its grace period, then deletes the object with
//     grace 0 (UID precondition). A relist of the runtime every
//     RelistPeriod wakes the workers of pods whose containers changed.
//   - Status (status.go): phase, the conditions Initialized, Ready,
//     ContainersReady and PodScheduled, container statuses with waiting
//     reasons (ContainerCreating, PodInitializing, ErrImagePull,
//     ImagePullBackOff, ErrImageNeverPull, CreateContainerConfigError,
//     CreateContainerError, RunContainerError, CrashLoopBackOff),
//     terminated states, lastState and restartCount (the Attempt of the
//     newest instance), hostIP, podIP, startTime. computePodStatus is pure;
//     a status is patched only when it differs from the last one written.
//   - Containers (containers.go, env.go, volumes.go): command and args with
//     $(VAR) expansion, env with envFrom and valueFrom (configMapKeyRef,
//     secretKeyRef, fieldRef, resourceFieldRef) and the Service variables
//     (from a Services informer whose cache TrimService cuts down to what
//     they need), workingDir, runAsUser, limits as cgroup settings, volumes emptyDir
//     (tmpfs for medium Memory), hostPath, configMap, secret, downwardAPI
//     and projected, written atomically under DataDir/pods/<uid>.
//   - Logs (logs.go): DataDir/logs/<ns>_<pod>_<uid>/<container>/<attempt>.log,
//     capped by copy-truncate rotation (LogMaxSize, LogMaxFiles) and served
//     with follow, tailLines, limitBytes and previous. Lines carry no
//     timestamps, so sinceSeconds and timestamps are not honoured.
//   - Ports (server.go, readonly.go): the kubelet API (HTTPS, self-signed,
//     clients in group system:masters with a certificate of ClientCA — the
//     API server proxying pods/log and pods/exec) and the read-only port
//     (127.0.0.1:10255: /healthz, /spec, /pods, /metrics).
//   - Exec (exec.go): /exec/<ns>/<pod>/<container> over a WebSocket with
//     the remote command subprotocol v5.channel.k8s.io (or v4): stdin and
//     its close signal, stdout, stderr, a terminal with resize, and a
//     Status carrying the exit code; the runtime must be a StreamExecer.
//   - Restart safety (gc.go): a restarted kubelet rebuilds everything from
//     the runtime's labels; running containers keep their ids and
//     restartCount, a readiness verdict the API already reports for a
//     container is kept, and sandboxes of pods the API no longer has are
//     stopped and removed (their namespaces and IPs released). A periodic
//     collection keeps the two newest instances of each container.
//
// kubelet/hollow runs many kubelets in one process on memruntime.
//
// # Callers' duties
//
// The kubelet package must not import its implementations (they import it
// for the types); cmd/navarch wires a Runtime in. Log rotation of the files
// named by ContainerConfig.LogPath is the kubelet's job (see the containerd
// package for how output is written).
package kubelet
