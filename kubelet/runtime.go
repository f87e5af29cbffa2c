package kubelet

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors a Runtime returns. Implementations wrap them with detail
// (fmt.Errorf("...: %w", ErrNotFound)); callers branch with errors.Is.
var (
	// ErrNotFound: the sandbox, container or exec target does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a sandbox or container with that identity exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrImageNotFound: the image is not on the node and the pull policy
	// (Never) forbids pulling it. Maps to the ErrImageNeverPull waiting reason.
	ErrImageNotFound = errors.New("image not present on the node")
	// ErrImagePull: pulling the image failed; the wrapped message carries the
	// registry's answer. Maps to the ErrImagePull waiting reason.
	ErrImagePull = errors.New("image pull failed")
	// ErrInvalidConfig: a SandboxConfig or ContainerConfig is unusable
	// (missing name or image, reserved label key, no command at all).
	ErrInvalidConfig = errors.New("invalid config")
	// ErrSandboxNotReady: the sandbox exists but was stopped; no container may
	// be created in it.
	ErrSandboxNotReady = errors.New("sandbox not ready")
	// ErrNotRunning: the container has no running process (ExecSync on a
	// created or exited container).
	ErrNotRunning = errors.New("container not running")
	// ErrStartFailed: the container's process could not be started (for
	// example its command is not in the image). The wrapped message is the
	// runtime's. Maps to the CreateContainerError/RunContainerError reasons.
	ErrStartFailed = errors.New("container start failed")
	// ErrExecTimeout: an ExecSync command did not finish within its timeout;
	// the command was killed.
	ErrExecTimeout = errors.New("exec timed out")
	// ErrUnavailable: the runtime (the containerd daemon) cannot be reached.
	ErrUnavailable = errors.New("runtime unavailable")
)

// PullPolicy says when EnsureImage may contact a registry; the values are
// Kubernetes' imagePullPolicy values.
type PullPolicy string

const (
	// PullAlways resolves the reference at the registry every time and fetches
	// what changed.
	PullAlways PullPolicy = "Always"
	// PullIfNotPresent pulls only when the node has no image by that name.
	PullIfNotPresent PullPolicy = "IfNotPresent"
	// PullNever never contacts a registry; an absent image is ErrImageNotFound.
	PullNever PullPolicy = "Never"
)

// Image is an image stored on the node.
type Image struct {
	// Ref is the normalized reference (docker.io/library/nginx:1.25).
	Ref string
	// ID is the digest of the image's manifest or index (sha256:…).
	ID string
	// Size is the size of its content in bytes, where the runtime knows it.
	Size int64
}

// PortMapping exposes a container port on the node (a pod's hostPort).
type PortMapping struct {
	// Protocol is "TCP" (the default when empty), "UDP" or "SCTP".
	Protocol      string
	ContainerPort int32
	HostPort      int32
	// HostIP restricts the mapping to one node address; empty means all.
	HostIP string
}

// SandboxConfig describes a pod's sandbox: its identity, network and logs.
type SandboxConfig struct {
	UID       string
	Name      string
	Namespace string
	// Hostname is given to every container of the pod (defaults to Name).
	Hostname    string
	Labels      map[string]string
	Annotations map[string]string
	// Ports are the pod's hostPort mappings.
	Ports []PortMapping
	// LogDir is the folder holding the pod's container logs.
	LogDir string
}

// Sandbox is what RunPodSandbox returns: the sandbox's ID and network.
type Sandbox struct {
	ID string
	// IP is the pod's address, shared by all its containers.
	IP string
	// NetNS is the path of the pod's network namespace (empty when the
	// runtime has no real namespaces).
	NetNS string
}

// SandboxState is a sandbox's state.
type SandboxState string

const (
	// SandboxReady: the network is set up; containers may be created.
	SandboxReady SandboxState = "ready"
	// SandboxNotReady: stopped (network torn down) or half set up.
	SandboxNotReady SandboxState = "notready"
)

// SandboxStatus is a sandbox as listed: enough to adopt it after a restart.
type SandboxStatus struct {
	Sandbox
	Config    SandboxConfig
	State     SandboxState
	CreatedAt time.Time
}

// SandboxFilter selects sandboxes; zero fields match everything.
type SandboxFilter struct {
	ID    string
	State SandboxState
	// Labels must all be present with equal values.
	Labels map[string]string
}

// EnvVar is one environment variable; order is kept, later ones win.
type EnvVar struct {
	Name  string
	Value string
}

// Mount bind-mounts a host path into a container.
type Mount struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
}

// Resources are a container's cgroup limits; zero means unlimited/default.
type Resources struct {
	// MemoryLimitBytes is the hard memory limit; exceeding it is OOMKilled.
	MemoryLimitBytes int64
	// CPUQuota and CPUPeriod (microseconds) cap CPU time: quota/period cores.
	CPUQuota  int64
	CPUPeriod int64
	// CPUShares is the relative CPU weight (Kubernetes: requests.cpu*1024).
	CPUShares uint64
}

// ContainerConfig describes a container to create in a sandbox.
type ContainerConfig struct {
	// Name is the container's name within the pod.
	Name string
	// Image is the reference as written in the pod; it must be present
	// (EnsureImage first).
	Image string
	// Command replaces the image's entrypoint and Args its cmd, with
	// Kubernetes' rules: Args alone keeps the entrypoint.
	Command    []string
	Args       []string
	Env        []EnvVar
	WorkingDir string
	Mounts     []Mount
	Resources  Resources
	// RunAsUser runs the process as that uid (nil: the image's user).
	RunAsUser *int64
	// LogPath is the file receiving the container's stdout and stderr.
	// Empty means the output is discarded.
	LogPath string
	// Attempt counts restarts of this container in its pod (0 first).
	Attempt uint32
	// Labels are stored with the container and filterable in ListContainers;
	// keys starting with "io.navarch." are reserved.
	Labels      map[string]string
	Annotations map[string]string
}

// ContainerState is a container's lifecycle state.
type ContainerState string

const (
	ContainerCreated ContainerState = "created"
	ContainerRunning ContainerState = "running"
	ContainerExited  ContainerState = "exited"
	ContainerUnknown ContainerState = "unknown"
)

// Reasons a ContainerStatus gives for an exited container.
const (
	ReasonCompleted  = "Completed"  // exit code 0
	ReasonError      = "Error"      // non-zero exit code
	ReasonOOMKilled  = "OOMKilled"  // the memory limit was hit
	ReasonStartError = "StartError" // the process never started
)

// Container is a container as listed.
type Container struct {
	ID          string
	SandboxID   string
	Name        string
	Image       string
	ImageID     string
	State       ContainerState
	Attempt     uint32
	CreatedAt   time.Time
	Labels      map[string]string
	Annotations map[string]string
}

// ContainerStatus is a container's full status.
type ContainerStatus struct {
	Container
	// Pid is the process id on the node while running, else 0.
	Pid        uint32
	StartedAt  time.Time
	FinishedAt time.Time
	// ExitCode is valid when State is ContainerExited; 128+N for signal N.
	ExitCode int32
	// Reason and Message explain an exited container (Reason* constants).
	Reason  string
	Message string
	LogPath string
}

// ContainerFilter selects containers; zero fields match everything.
type ContainerFilter struct {
	ID        string
	SandboxID string
	State     ContainerState
	Labels    map[string]string
}

// ExecResult is the outcome of ExecSync.
type ExecResult struct {
	ExitCode int32
	// Output is stdout and stderr interleaved, capped at MaxExecOutput bytes.
	Output []byte
}

// MaxExecOutput caps ExecResult.Output; more output is dropped.
const MaxExecOutput = 64 << 10

// StreamExecer is a Runtime that runs a command in a container with its
// standard streams attached, for kubectl exec.
type StreamExecer interface {
	// Exec runs cmd in the running container id until it exits or ctx
	// ends (then it is killed) and returns its exit code. ErrNotFound,
	// ErrNotRunning; a command that cannot be started is an error.
	Exec(ctx context.Context, id string, cmd []string, streams ExecStreams) (int32, error)
}

// ExecStreams are what an Exec's process is attached to.
type ExecStreams struct {
	// Stdin is copied to the process until it ends, which closes the
	// process's standard input; nil gives it none.
	Stdin io.Reader
	// Stdout and Stderr receive its output; nil discards it. With TTY
	// both go to Stdout.
	Stdout, Stderr io.Writer
	// TTY gives the process a terminal, sized from Resize.
	TTY    bool
	Resize <-chan TerminalSize
}

// TerminalSize is a terminal's width and height in characters.
type TerminalSize struct {
	Width, Height uint16
}

// VersionInfo names the runtime.
type VersionInfo struct {
	RuntimeName    string // "containerd", "memory"
	RuntimeVersion string
	APIVersion     string
}

// Capabilities say what a Runtime really does, so tests and callers know
// which guarantees hold. A Runtime reports them through CapabilityReporter.
type Capabilities struct {
	// Processes: containers run the image's program as real processes;
	// exit codes, signals and output come from the program.
	Processes bool
	// Network: sandboxes get a real network namespace; containers of a pod
	// reach each other on localhost and the node reaches the pod IP.
	Network bool
}

// CapabilityReporter is implemented by runtimes that report Capabilities.
type CapabilityReporter interface {
	Capabilities() Capabilities
}

// Runtime runs pods' sandboxes and containers on one node. It is the
// kubelet's only view of containers: CRI-shaped, in plain Go. All methods
// are safe for concurrent use and take a context that bounds the call.
// A Runtime keeps no state the kubelet must persist: after a restart,
// ListPodSandboxes and ListContainers give back everything (with labels and
// annotations) needed to adopt what runs.
type Runtime interface {
	// Version names the runtime; ErrUnavailable when it cannot be reached.
	Version(ctx context.Context) (VersionInfo, error)
	// Ping returns nil when the runtime answers, else an error wrapping
	// ErrUnavailable. It is the node's runtime health check.
	Ping(ctx context.Context) error

	// EnsureImage makes ref present on the node following policy and returns
	// it. Always pulls; IfNotPresent pulls when absent; Never returns
	// ErrImageNotFound when absent. Pull failures wrap ErrImagePull and
	// carry the registry's message. Plain HTTP is used for loopback
	// registries. Concurrent calls for one ref share one pull.
	EnsureImage(ctx context.Context, ref string, policy PullPolicy) (Image, error)
	// ListImages returns the images on the node.
	ListImages(ctx context.Context) ([]Image, error)
	// ImportImage loads an image archive (OCI layout or docker archive tar)
	// and returns the images it named, ready to run.
	ImportImage(ctx context.Context, archive io.Reader) ([]Image, error)

	// RunPodSandbox creates the pod's sandbox: a network namespace with one
	// IP (hostPorts mapped). On error nothing is left behind.
	RunPodSandbox(ctx context.Context, cfg SandboxConfig) (Sandbox, error)
	// StopPodSandbox kills the sandbox's containers at once, tears its
	// network down (the IP is released) and leaves it NotReady. It is
	// idempotent; an unknown id is ErrNotFound.
	StopPodSandbox(ctx context.Context, id string) error
	// RemovePodSandbox stops the sandbox if needed and removes it and its
	// containers. An unknown id returns nil.
	RemovePodSandbox(ctx context.Context, id string) error
	// ListPodSandboxes returns the sandboxes matching filter.
	ListPodSandboxes(ctx context.Context, filter SandboxFilter) ([]SandboxStatus, error)

	// CreateContainer creates (does not start) a container in a ready
	// sandbox and returns its ID. ErrNotFound: no such sandbox;
	// ErrSandboxNotReady; ErrImageNotFound: image not on the node;
	// ErrInvalidConfig.
	CreateContainer(ctx context.Context, sandboxID string, cfg ContainerConfig) (string, error)
	// StartContainer starts a created container. If the process cannot be
	// started the error wraps ErrStartFailed with the runtime's message and
	// the container becomes exited with Reason StartError, exit code 128.
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends SIGTERM, then SIGKILL once grace has passed, and
	// returns when the process is gone. Stopping an exited or created
	// container returns nil; an unknown id is ErrNotFound.
	StopContainer(ctx context.Context, id string, grace time.Duration) error
	// RemoveContainer kills the container if it runs and removes it with
	// its filesystem. An unknown id returns nil. Its log file is kept.
	RemoveContainer(ctx context.Context, id string) error
	// ListContainers returns the containers matching filter.
	ListContainers(ctx context.Context, filter ContainerFilter) ([]Container, error)
	// ContainerStatus returns one container's status; ErrNotFound if unknown.
	ContainerStatus(ctx context.Context, id string) (ContainerStatus, error)
	// ExecSync runs cmd in a running container and waits up to timeout
	// (0: until ctx ends). ErrNotFound, ErrNotRunning; on timeout the command
	// is killed and the error wraps ErrExecTimeout. A command that cannot
	// be started is an error; one that runs and fails is an ExitCode.
	ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (ExecResult, error)
}
