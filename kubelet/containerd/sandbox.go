package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/navarch/navarch/kubelet"
	"github.com/navarch/navarch/kubelet/network"
)

// A sandbox is a containerd container record with no task (no pause
// process): its labels hold the pod's identity, network namespace path,
// IP and state. The namespace is pinned by a bind mount in the network
// manager's netns dir; /etc/hosts and /etc/hostname for the pod's
// containers live in StateDir/sandboxes/<id>.

// RunPodSandbox creates the pod's network namespace and network.
func (r *Runtime) RunPodSandbox(ctx context.Context, cfg kubelet.SandboxConfig) (kubelet.Sandbox, error) {
	ctx = r.ns(ctx)
	if cfg.UID == "" || cfg.Name == "" || cfg.Namespace == "" {
		return kubelet.Sandbox{}, fmt.Errorf("%w: sandbox needs pod uid, name and namespace", kubelet.ErrInvalidConfig)
	}
	if r.net == nil {
		return kubelet.Sandbox{}, errors.New("run sandbox: the runtime has no pod network (Options.Network)")
	}
	if err := checkUserKeys(cfg.Labels, cfg.Annotations); err != nil {
		return kubelet.Sandbox{}, err
	}
	if cfg.Hostname == "" {
		cfg.Hostname = cfg.Name
	}
	cfg.Hostname = truncate(cfg.Hostname, 63)
	id := newID()
	netnsPath := filepath.Join(r.net.NetNSDir(), id)
	labels := map[string]string{
		labelKind: kindSandbox, labelState: string(kubelet.SandboxNotReady),
		labelPodUID: cfg.UID, labelPodName: cfg.Name, labelPodNamespace: cfg.Namespace,
		labelHostname: cfg.Hostname, labelLogDir: cfg.LogDir, labelNetNS: netnsPath,
		labelPorts: encodePorts(cfg.Ports),
	}
	userLabels(labels, cfg.Labels, cfg.Annotations)
	// The record comes first, so a crash half-way leaves something that
	// ListPodSandboxes shows and RemovePodSandbox cleans.
	rec := containers.Container{ID: id, Labels: labels, Spec: emptySpec(),
		Runtime: containers.RuntimeInfo{Name: runcShim}}
	if _, err := r.client.ContainerService().Create(ctx, rec); err != nil {
		return kubelet.Sandbox{}, fmt.Errorf("create sandbox for pod %s/%s: %w", cfg.Namespace, cfg.Name, mapErr(err))
	}
	sb, err := r.setUpSandbox(ctx, id, netnsPath, cfg)
	if err != nil {
		if rerr := r.RemovePodSandbox(context.WithoutCancel(ctx), id); rerr != nil {
			r.opts.Logger.Error("clean up failed sandbox", "sandbox", id, "err", rerr)
		}
		return kubelet.Sandbox{}, fmt.Errorf("run sandbox for pod %s/%s: %w", cfg.Namespace, cfg.Name, err)
	}
	return sb, nil
}

func (r *Runtime) setUpSandbox(ctx context.Context, id, netnsPath string, cfg kubelet.SandboxConfig) (kubelet.Sandbox, error) {
	dir := r.sandboxDir(id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return kubelet.Sandbox{}, err
	}
	if _, err := network.CreateNetNS(r.net.NetNSDir(), id); err != nil {
		return kubelet.Sandbox{}, err
	}
	ports := make([]network.PortMapping, 0, len(cfg.Ports))
	for _, p := range cfg.Ports {
		proto := strings.ToLower(p.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		ports = append(ports, network.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: proto, HostIP: p.HostIP})
	}
	ip, err := r.net.Setup(ctx, id, netnsPath, ports)
	if err != nil {
		return kubelet.Sandbox{}, err
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n", ip, cfg.Hostname)
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(hosts), 0o644); err != nil {
		return kubelet.Sandbox{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "hostname"), []byte(cfg.Hostname+"\n"), 0o644); err != nil {
		return kubelet.Sandbox{}, err
	}
	if err := r.setLabels(ctx, id, map[string]string{labelIP: ip.String(), labelState: string(kubelet.SandboxReady)}); err != nil {
		return kubelet.Sandbox{}, err
	}
	r.opts.Logger.Info("sandbox ready", "sandbox", id, "pod", cfg.Namespace+"/"+cfg.Name, "ip", ip)
	return kubelet.Sandbox{ID: id, IP: ip.String(), NetNS: netnsPath}, nil
}

// StopPodSandbox kills the sandbox's containers and tears its network down.
func (r *Runtime) StopPodSandbox(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	rec, err := r.getRecord(ctx, id, kindSandbox)
	if err != nil {
		return err
	}
	ctrs, err := r.ListContainers(ctx, kubelet.ContainerFilter{SandboxID: id})
	if err != nil {
		return err
	}
	for _, c := range ctrs {
		if err := r.StopContainer(ctx, c.ID, 0); err != nil && !errors.Is(err, kubelet.ErrNotFound) {
			return fmt.Errorf("stop sandbox %s: %w", id, err)
		}
	}
	unlock := r.locks.lock(id)
	defer unlock()
	netnsPath := rec.Labels[labelNetNS]
	if r.net == nil {
		return fmt.Errorf("stop sandbox %s: the runtime has no pod network to tear down", id)
	}
	if err := r.net.Teardown(ctx, id, netnsPath); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", id, err)
	}
	if err := network.RemoveNetNS(netnsPath); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", id, err)
	}
	if rec.Labels[labelState] != string(kubelet.SandboxNotReady) {
		return r.setLabels(ctx, id, map[string]string{labelState: string(kubelet.SandboxNotReady)})
	}
	return nil
}

// RemovePodSandbox stops the sandbox and removes it with its containers.
func (r *Runtime) RemovePodSandbox(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	if err := r.StopPodSandbox(ctx, id); err != nil {
		if errors.Is(err, kubelet.ErrNotFound) {
			return nil
		}
		return err
	}
	ctrs, err := r.ListContainers(ctx, kubelet.ContainerFilter{SandboxID: id})
	if err != nil {
		return err
	}
	for _, c := range ctrs {
		if err := r.RemoveContainer(ctx, c.ID); err != nil {
			return fmt.Errorf("remove sandbox %s: %w", id, err)
		}
	}
	unlock := r.locks.lock(id)
	defer unlock()
	if err := os.RemoveAll(r.sandboxDir(id)); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	removeCgroup(r.podCgroup(id))
	if err := r.client.ContainerService().Delete(ctx, id); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove sandbox %s: %w", id, mapErr(err))
	}
	return nil
}

// ListPodSandboxes returns the sandboxes matching filter.
func (r *Runtime) ListPodSandboxes(ctx context.Context, filter kubelet.SandboxFilter) ([]kubelet.SandboxStatus, error) {
	ctx = r.ns(ctx)
	recs, err := r.listRecords(ctx, kindSandbox, filter.ID)
	if err != nil {
		return nil, err
	}
	out := make([]kubelet.SandboxStatus, 0, len(recs))
	for _, rec := range recs {
		s := sandboxStatus(rec)
		if (filter.State != "" && s.State != filter.State) || !matches(s.Config.Labels, filter.Labels) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

func sandboxStatus(rec containers.Container) kubelet.SandboxStatus {
	l := rec.Labels
	labels, annotations := splitLabels(l)
	return kubelet.SandboxStatus{
		Sandbox: kubelet.Sandbox{ID: rec.ID, IP: l[labelIP], NetNS: l[labelNetNS]},
		Config: kubelet.SandboxConfig{
			UID: l[labelPodUID], Name: l[labelPodName], Namespace: l[labelPodNamespace],
			Hostname: l[labelHostname], LogDir: l[labelLogDir], Ports: decodePorts(l[labelPorts]),
			Labels: labels, Annotations: annotations,
		},
		State:     kubelet.SandboxState(l[labelState]),
		CreatedAt: rec.CreatedAt,
	}
}

func (r *Runtime) sandboxDir(id string) string {
	return filepath.Join(r.opts.StateDir, "sandboxes", id)
}

// getRecord loads a record of the given kind; anything else is ErrNotFound.
func (r *Runtime) getRecord(ctx context.Context, id, kind string) (containers.Container, error) {
	if id == "" {
		return containers.Container{}, fmt.Errorf("%w: empty %s id", kubelet.ErrNotFound, kind)
	}
	rec, err := r.client.ContainerService().Get(ctx, id)
	if err != nil {
		return rec, fmt.Errorf("%s %s: %w", kind, id, mapErr(err))
	}
	if rec.Labels[labelKind] != kind {
		return rec, fmt.Errorf("%s %s: %w", kind, id, kubelet.ErrNotFound)
	}
	return rec, nil
}

func (r *Runtime) listRecords(ctx context.Context, kind, id string) ([]containers.Container, error) {
	filter := fmt.Sprintf("labels.%q==%s", labelKind, kind)
	if id != "" {
		filter += fmt.Sprintf(",id==%s", id)
	}
	recs, err := r.client.ContainerService().List(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", kind, mapErr(err))
	}
	return recs, nil
}

func (r *Runtime) setLabels(ctx context.Context, id string, labels map[string]string) error {
	rec := containers.Container{ID: id, Labels: labels}
	paths := make([]string, 0, len(labels))
	for k := range labels {
		paths = append(paths, "labels."+k)
	}
	if _, err := r.client.ContainerService().Update(ctx, rec, paths...); err != nil {
		return fmt.Errorf("update %s: %w", id, mapErr(err))
	}
	return nil
}

// emptySpec is the spec of a sandbox record (containerd requires one).
func emptySpec() typeurl.Any {
	spec, _ := typeurl.MarshalAny(&specs.Spec{Version: specs.Version})
	return spec
}
