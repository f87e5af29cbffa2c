package kubelet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Waiting reasons, as Kubernetes' kubelet gives them.
const (
	reasonContainerCreating   = "ContainerCreating"
	reasonPodInitializing     = "PodInitializing"
	reasonCrashLoopBackOff    = "CrashLoopBackOff"
	reasonErrImagePull        = "ErrImagePull"
	reasonImagePullBackOff    = "ImagePullBackOff"
	reasonErrImageNeverPull   = "ErrImageNeverPull"
	reasonCreateConfigError   = "CreateContainerConfigError"
	reasonCreateContainerErr  = "CreateContainerError"
	reasonRunContainerError   = "RunContainerError"
	imagePullTimeout          = 5 * time.Minute
	configErrorRetry          = 2 * time.Second
	runtimeErrorRetryInterval = 2 * time.Second
)

// startContainer pulls c's image (as its pull policy and back-off allow),
// then creates and starts the container in sb. Failures become the
// container's waiting reason. It returns when to sync again (0: the usual
// period).
func (k *Kubelet) startContainer(ctx context.Context, w *podWorker, pod *corev1.Pod, c *corev1.Container, sb *SandboxStatus, attempt uint32, init bool) time.Duration {
	rt := k.runtime()
	if wait, ok := k.pullImage(ctx, w, c); !ok {
		return wait
	}
	cfg, err := k.containerConfig(ctx, pod, c, sb, attempt, init)
	if err != nil {
		w.reasons[c.Name] = waitReason{reasonCreateConfigError, err.Error()}
		return configErrorRetry
	}
	id, err := rt.CreateContainer(ctx, sb.ID, cfg)
	if err != nil {
		loggerFrom(ctx).Warn("create container", "container", c.Name, "err", err)
		w.reasons[c.Name] = waitReason{reasonCreateContainerErr, err.Error()}
		return runtimeErrorRetryInterval
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		loggerFrom(ctx).Warn("start container", "container", c.Name, "err", err)
		w.reasons[c.Name] = waitReason{reasonRunContainerError, err.Error()}
		// The container is exited (StartError): the next sync restarts
		// it under the crash back-off.
		return time.Millisecond
	}
	delete(w.reasons, c.Name)
	if k.metrics != nil {
		k.metrics.containersStarted.Inc()
	}
	loggerFrom(ctx).Debug("container started", "container", c.Name, "id", id, "attempt", attempt)
	return 0
}

// pullImage makes c's image present. It reports false, with when to try
// again, while the image is in back-off or when pulling failed.
func (k *Kubelet) pullImage(ctx context.Context, w *podWorker, c *corev1.Container) (time.Duration, bool) {
	now := k.opts.Now()
	if e, ok := w.images.entries[c.Image]; ok {
		if retry := e.failedAt.Add(e.delay); retry.After(now) {
			w.reasons[c.Name] = waitReason{reasonImagePullBackOff,
				fmt.Sprintf("Back-off pulling image %q: %s", c.Image, w.imageErrs[c.Image])}
			return retry.Sub(now), false
		}
	}
	policy := PullPolicy(c.ImagePullPolicy)
	if policy == "" {
		policy = PullIfNotPresent
	}
	pctx, cancel := context.WithTimeout(ctx, imagePullTimeout)
	defer cancel()
	_, err := k.runtime().EnsureImage(pctx, c.Image, policy)
	switch {
	case err == nil:
		w.images.reset(c.Image)
		delete(w.imageErrs, c.Image)
		return 0, true
	case errors.Is(err, ErrImageNotFound):
		w.reasons[c.Name] = waitReason{reasonErrImageNeverPull,
			fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)}
		return k.opts.Backoff.Initial, false
	}
	loggerFrom(ctx).Info("pull image", "image", c.Image, "err", err)
	msg := err.Error()
	w.reasons[c.Name] = waitReason{reasonErrImagePull, msg}
	w.imageErrs[c.Image] = reasonErrImagePull + ": " + msg
	retry := w.images.failure(c.Image, now, 0)
	// Look again soon, to show ImagePullBackOff while the back-off lasts.
	return min(retry.Sub(now), time.Second), false
}

// sandboxConfig is the sandbox of pod: identity, hostname, host ports and
// log folder.
func (k *Kubelet) sandboxConfig(pod *corev1.Pod) SandboxConfig {
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	var ports []PortMapping
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort > 0 {
					ports = append(ports, PortMapping{Protocol: string(p.Protocol), ContainerPort: p.ContainerPort,
						HostPort: p.HostPort, HostIP: p.HostIP})
				}
			}
		}
	}
	return SandboxConfig{
		UID: string(pod.UID), Name: pod.Name, Namespace: pod.Namespace, Hostname: hostname,
		Labels: podLabels(pod), Ports: ports, LogDir: k.podLogDir(pod),
	}
}

func podLabels(pod *corev1.Pod) map[string]string {
	return map[string]string{
		labelPodUID: string(pod.UID), labelPodName: pod.Name, labelPodNamespace: pod.Namespace,
	}
}

// containerConfig builds the runtime's view of c: command and args with
// $(VAR) references expanded, environment, mounts, limits and user.
func (k *Kubelet) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, sb *SandboxStatus, attempt uint32, init bool) (ContainerConfig, error) {
	env, err := k.containerEnv(ctx, pod, c, sb.IP)
	if err != nil {
		return ContainerConfig{}, err
	}
	mounts, err := k.containerMounts(pod, c)
	if err != nil {
		return ContainerConfig{}, err
	}
	vars := map[string]string{}
	for _, e := range env {
		vars[e.Name] = e.Value
	}
	labels := podLabels(pod)
	labels[labelContainerName] = c.Name
	annotations := map[string]string{annotationHash: containerHash(c)}
	if init {
		annotations[annotationInit] = "true"
	}
	return ContainerConfig{
		Name: c.Name, Image: c.Image,
		Command: expandAll(c.Command, vars), Args: expandAll(c.Args, vars),
		Env: env, WorkingDir: c.WorkingDir, Mounts: mounts,
		Resources: containerResources(c), RunAsUser: runAsUser(pod, c),
		LogPath: k.containerLogPath(pod, c.Name, attempt), Attempt: attempt,
		Labels: labels, Annotations: annotations,
	}, nil
}

// containerResources turns limits and requests into cgroup settings as
// Kubernetes does: memory limit; CPU quota from limits.cpu over a 100 ms
// period; CPU shares from requests.cpu (2 when there is none).
func containerResources(c *corev1.Container) Resources {
	var r Resources
	if m, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		r.MemoryLimitBytes = m.Value()
	}
	if cpu, ok := c.Resources.Limits[corev1.ResourceCPU]; ok && cpu.MilliValue() > 0 {
		r.CPUPeriod = 100000
		r.CPUQuota = max(cpu.MilliValue()*r.CPUPeriod/1000, 1000)
	}
	r.CPUShares = 2
	if cpu, ok := c.Resources.Requests[corev1.ResourceCPU]; ok && cpu.MilliValue() > 0 {
		r.CPUShares = uint64(max(cpu.MilliValue()*1024/1000, 2))
	}
	return r
}

// runAsUser is the container's runAsUser, else the pod's.
func runAsUser(pod *corev1.Pod, c *corev1.Container) *int64 {
	if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil {
		return c.SecurityContext.RunAsUser
	}
	if pod.Spec.SecurityContext != nil {
		return pod.Spec.SecurityContext.RunAsUser
	}
	return nil
}

// expand replaces $(VAR) with the value of VAR when vars defines it, and
// $$(VAR) with the literal $(VAR), as Kubernetes expands command, args
// and env values.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func expandAll(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, vars)
	}
	return out
}
