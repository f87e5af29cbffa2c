package memruntime

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/navarch/navarch/kubelet"
)

// Behavior is what a simulated command does.
type Behavior struct {
	// Exits: the command ends on its own after ExitAfter with ExitCode.
	// Otherwise it runs until stopped.
	Exits     bool
	ExitAfter time.Duration
	ExitCode  int32
	// IgnoreSIGTERM: StopContainer waits the whole grace period, then the
	// command dies of SIGKILL (137).
	IgnoreSIGTERM bool
	// Output is written to the log file (containers) or returned (exec).
	Output string
	// StartError, when set, makes StartContainer fail with this message
	// (like a command missing from the image).
	StartError string
}

// Options configure a Runtime; the zero value is usable.
type Options struct {
	// StartDelay is how long a started container stays created before it
	// turns running.
	StartDelay time.Duration
	// PodCIDR is where sandbox IPs come from; default 10.88.0.0/16.
	PodCIDR string
	// Behave says what a container's command line (Command+Args as given)
	// or an exec's command does. Default: containers run until stopped,
	// execs exit 0 at once with no output.
	Behave func(argv []string) Behavior
	// Registry resolves a reference to pull to its digest. Default:
	// DefaultRegistry.
	Registry func(ctx context.Context, ref string) (digest string, err error)
	// Images are present from the start (references; IDs are synthetic).
	Images []string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Runtime is an in-memory kubelet.Runtime. One mutex guards everything.
type Runtime struct {
	opts Options
	base uint32 // first address of PodCIDR
	size uint32 // addresses in PodCIDR

	mu         sync.Mutex
	seq        uint64
	images     map[string]kubelet.Image
	sandboxes  map[string]*sandbox
	containers map[string]*container
	ipNext     uint32
	ipFree     []uint32
}

var (
	_ kubelet.Runtime            = (*Runtime)(nil)
	_ kubelet.CapabilityReporter = (*Runtime)(nil)
)

// New returns an empty runtime; it fails only on a bad PodCIDR or image.
func New(opts Options) (*Runtime, error) {
	if opts.PodCIDR == "" {
		opts.PodCIDR = "10.88.0.0/16"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Registry == nil {
		opts.Registry = DefaultRegistry
	}
	_, cidr, err := net.ParseCIDR(opts.PodCIDR)
	if err != nil || cidr.IP.To4() == nil {
		return nil, fmt.Errorf("memruntime: pod CIDR %q: want an IPv4 CIDR", opts.PodCIDR)
	}
	ones, bits := cidr.Mask.Size()
	r := &Runtime{
		opts: opts, base: binary.BigEndian.Uint32(cidr.IP.To4()), size: 1 << (bits - ones),
		images: map[string]kubelet.Image{}, sandboxes: map[string]*sandbox{}, containers: map[string]*container{},
		ipNext: 2, // .0 is the network, .1 the gateway
	}
	for _, ref := range opts.Images {
		name, err := normalizeRef(ref)
		if err != nil {
			return nil, err
		}
		r.images[name] = kubelet.Image{Ref: name, ID: syntheticDigest(name)}
	}
	return r, nil
}

// Capabilities: nothing real.
func (r *Runtime) Capabilities() kubelet.Capabilities { return kubelet.Capabilities{} }

// Version names the runtime "memory".
func (r *Runtime) Version(ctx context.Context) (kubelet.VersionInfo, error) {
	return kubelet.VersionInfo{RuntimeName: "memory", RuntimeVersion: "0.1.0", APIVersion: "v1"}, nil
}

// Ping always answers.
func (r *Runtime) Ping(ctx context.Context) error { return nil }

func (r *Runtime) behave(argv []string) Behavior {
	if r.opts.Behave == nil {
		return Behavior{}
	}
	return r.opts.Behave(argv)
}

// newID returns a unique id; the caller holds mu.
func (r *Runtime) newID(prefix byte) string {
	r.seq++
	return string(prefix) + strconv.FormatUint(r.seq, 16)
}

// allocIP hands out the next free address; the caller holds mu.
func (r *Runtime) allocIP() (string, error) {
	var n uint32
	switch {
	case len(r.ipFree) > 0:
		n, r.ipFree = r.ipFree[len(r.ipFree)-1], r.ipFree[:len(r.ipFree)-1]
	case r.ipNext < r.size-1:
		n = r.ipNext
		r.ipNext++
	default:
		return "", fmt.Errorf("memruntime: pod CIDR %s is exhausted", r.opts.PodCIDR)
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], r.base+n)
	return net.IP(b[:]).String(), nil
}

// releaseIP returns an address to the pool; the caller holds mu.
func (r *Runtime) releaseIP(ip string) {
	p := net.ParseIP(ip).To4()
	if p == nil {
		return
	}
	r.ipFree = append(r.ipFree, binary.BigEndian.Uint32(p)-r.base)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
