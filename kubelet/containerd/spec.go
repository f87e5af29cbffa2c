package containerd

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/navarch/navarch/kubelet"
)

// specOpts turns a ContainerConfig into OCI spec options: the image's
// config with Kubernetes' command/args rules, the pod's network namespace,
// hostname and /etc/hosts, bind mounts, cgroup limits and user.
func (r *Runtime) specOpts(img containerd.Image, sb kubelet.SandboxStatus, id string, cfg kubelet.ContainerConfig) []oci.SpecOpts {
	opts := []oci.SpecOpts{oci.WithImageConfig(img)}
	switch {
	case len(cfg.Command) > 0:
		opts = append(opts, oci.WithProcessArgs(append(append([]string{}, cfg.Command...), cfg.Args...)...))
	case len(cfg.Args) > 0:
		opts = append(opts, oci.WithImageConfigArgs(img, cfg.Args))
	}
	opts = append(opts, requireArgs)
	if len(cfg.Env) > 0 {
		env := make([]string, 0, len(cfg.Env))
		for _, e := range cfg.Env {
			env = append(env, e.Name+"="+e.Value)
		}
		opts = append(opts, oci.WithEnv(env))
	}
	if cfg.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(cfg.WorkingDir))
	}
	if cfg.RunAsUser != nil {
		opts = append(opts, oci.WithUserID(uint32(*cfg.RunAsUser)))
	}
	dir := r.sandboxDir(sb.ID)
	mounts := []specs.Mount{
		bindMount(filepath.Join(dir, "hosts"), "/etc/hosts", true),
		bindMount(filepath.Join(dir, "hostname"), "/etc/hostname", true),
	}
	for _, m := range cfg.Mounts {
		mounts = append(mounts, bindMount(m.HostPath, m.ContainerPath, m.ReadOnly))
	}
	opts = append(opts,
		oci.WithHostname(sb.Config.Hostname),
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: sb.NetNS}),
		oci.WithMounts(mounts),
		oci.WithCgroup(r.containerCgroup(sb.ID, id)),
	)
	res := cfg.Resources
	if res.MemoryLimitBytes > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(res.MemoryLimitBytes)))
	}
	if res.CPUQuota > 0 || res.CPUPeriod > 0 {
		period := res.CPUPeriod
		if period == 0 {
			period = 100000
		}
		opts = append(opts, oci.WithCPUCFS(res.CPUQuota, uint64(period)))
	}
	if res.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(res.CPUShares))
	}
	if len(cfg.Annotations) > 0 {
		opts = append(opts, oci.WithAnnotations(cfg.Annotations))
	}
	return opts
}

// requireArgs refuses a spec without a command (image and config both
// silent).
func requireArgs(_ context.Context, _ oci.Client, _ *containers.Container, s *specs.Spec) error {
	if s.Process == nil || len(s.Process.Args) == 0 {
		return fmt.Errorf("%w: no command: the image has no entrypoint or cmd and none was given", kubelet.ErrInvalidConfig)
	}
	return nil
}

func bindMount(src, dst string, ro bool) specs.Mount {
	mode := "rw"
	if ro {
		mode = "ro"
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", "rprivate", mode}}
}

func (r *Runtime) podCgroup(sandboxID string) string {
	return filepath.Join(r.opts.CgroupParent, "pod-"+sandboxID)
}

func (r *Runtime) containerCgroup(sandboxID, id string) string {
	return filepath.Join(r.podCgroup(sandboxID), id)
}

func attemptString(a uint32) string { return strconv.FormatUint(uint64(a), 10) }
