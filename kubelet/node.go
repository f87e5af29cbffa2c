package kubelet

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Version is the kubelet version a Node reports (nodeInfo.kubeletVersion):
// the Kubernetes API version navarch speaks.
const Version = "v1.37.2-navarch"

// Node condition reasons, as Kubernetes' kubelet gives them.
const (
	reasonReady          = "KubeletReady"
	reasonNotReady       = "KubeletNotReady"
	reasonMemoryOK       = "KubeletHasSufficientMemory"
	reasonMemoryPressure = "KubeletHasInsufficientMemory"
	reasonDiskOK         = "KubeletHasNoDiskPressure"
	reasonDiskPressure   = "KubeletHasDiskPressure"
	reasonPIDOK          = "KubeletHasSufficientPID"
	reasonPIDPressure    = "KubeletHasInsufficientPID"
)

// registerNode creates the Node, or adopts the one of that name (adding
// the kubelet's labels it lacks), retrying until it succeeds or ctx ends.
func (k *Kubelet) registerNode(ctx context.Context) error {
	delay := 200 * time.Millisecond
	for {
		err := k.tryRegister(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		k.log.Warn("register node", "err", err, "retry", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

func (k *Kubelet) tryRegister(ctx context.Context) error {
	nodes := k.client.CoreV1().Nodes()
	want := k.initialNode()
	created, err := nodes.Create(ctx, want, metav1.CreateOptions{})
	if err == nil {
		k.nodeUID.Store(&created.UID)
		k.log.Info("registered node")
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur, err := nodes.Get(ctx, k.opts.NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	missing := false
	for key, v := range want.Labels {
		if cur.Labels[key] != v {
			missing = true
		}
	}
	if missing {
		cur = cur.DeepCopy()
		if cur.Labels == nil {
			cur.Labels = map[string]string{}
		}
		maps.Copy(cur.Labels, want.Labels)
		if cur, err = nodes.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	k.nodeUID.Store(&cur.UID)
	k.log.Info("node already registered; adopted it")
	return nil
}

// initialNode is the Node as the kubelet registers it.
func (k *Kubelet) initialNode() *corev1.Node {
	labels := map[string]string{
		corev1.LabelHostname:   k.opts.NodeName,
		corev1.LabelOSStable:   runtime.GOOS,
		corev1.LabelArchStable: runtime.GOARCH,
	}
	maps.Copy(labels, k.opts.Labels)
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.opts.NodeName, Labels: labels}}
	k.setNodeStatus(&n.Status, k.opts.Now())
	return n
}

// nodeStatusLoop checks the runtime's health and writes the node's status
// when it changed (or NodeStatusReportFrequency passed), every
// NodeStatusUpdateFrequency and when kicked.
func (k *Kubelet) nodeStatusLoop(ctx context.Context) {
	tick := time.NewTicker(k.opts.NodeStatusUpdateFrequency)
	defer tick.Stop()
	var last *corev1.Node // as last read or written
	var lastWrite time.Time
	for {
		k.checkRuntime(ctx)
		node, wrote, err := k.updateNodeStatus(ctx, last, lastWrite)
		switch {
		case apierrors.IsConflict(err):
			// Changed under us (a pod CIDR, a label): read it again now.
			k.log.Debug("node changed while writing its status; retrying", "err", err)
			last = nil
			k.kickNodeStatus()
		case err != nil && ctx.Err() == nil:
			k.log.Warn("update node status", "err", err)
			last = nil // read it again
		case err == nil:
			last = node
			if wrote {
				lastWrite = k.opts.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-k.kick:
		}
	}
}

// updateNodeStatus computes the status on base (read anew when nil) and
// writes it when it changed or the report interval passed. It returns the
// node as stored.
func (k *Kubelet) updateNodeStatus(ctx context.Context, base *corev1.Node, lastWrite time.Time) (*corev1.Node, bool, error) {
	nodes := k.client.CoreV1().Nodes()
	if base == nil {
		var err error
		if base, err = nodes.Get(ctx, k.opts.NodeName, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				// Deleted under us: register again.
				if rerr := k.tryRegister(ctx); rerr != nil {
					return nil, false, rerr
				}
			}
			return nil, false, err
		}
	}
	now := k.opts.Now()
	next := base.DeepCopy()
	k.setNodeStatus(&next.Status, now)
	if !nodeStatusChanged(&base.Status, &next.Status) && now.Sub(lastWrite) < k.opts.NodeStatusReportFrequency {
		return base, false, nil
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stored, err := nodes.UpdateStatus(wctx, next, metav1.UpdateOptions{})
	if err != nil {
		return nil, false, fmt.Errorf("write status: %w", err)
	}
	if k.metrics != nil {
		k.metrics.nodeStatusWrites.Inc()
	}
	return stored, true, nil
}

// setNodeStatus fills the fields of status the kubelet owns.
func (k *Kubelet) setNodeStatus(st *corev1.NodeStatus, now time.Time) {
	capacity := k.capacity()
	st.Capacity = capacity
	st.Allocatable = capacity.DeepCopy()
	st.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: k.opts.NodeIP},
		{Type: corev1.NodeHostName, Address: k.opts.Hostname},
	}
	st.DaemonEndpoints.KubeletEndpoint.Port = int32(k.Port())
	m := k.machine
	st.NodeInfo = corev1.NodeSystemInfo{
		MachineID: m.MachineID, SystemUUID: m.SystemUUID, BootID: m.BootID,
		KernelVersion: m.KernelVersion, OSImage: m.OSImage,
		ContainerRuntimeVersion: k.runtimeVersion(),
		KubeletVersion:          Version,
		OperatingSystem:         m.OperatingSystem, Architecture: m.Architecture,
	}
	p := k.opts.Machine.Pressure(k.opts.DataDir)
	ready, msg := k.ready()
	readyStatus, readyReason := corev1.ConditionTrue, reasonReady
	if !ready {
		readyStatus, readyReason = corev1.ConditionFalse, reasonNotReady
	}
	setNodeCondition(st, corev1.NodeMemoryPressure, p.Memory, reasonMemoryPressure, reasonMemoryOK,
		p.MemoryMessage, "kubelet has sufficient memory available", now)
	setNodeCondition(st, corev1.NodeDiskPressure, p.Disk, reasonDiskPressure, reasonDiskOK,
		p.DiskMessage, "kubelet has no disk pressure", now)
	setNodeCondition(st, corev1.NodePIDPressure, p.PID, reasonPIDPressure, reasonPIDOK,
		p.PIDMessage, "kubelet has sufficient PID available", now)
	putNodeCondition(st, corev1.NodeCondition{Type: corev1.NodeReady, Status: readyStatus, Reason: readyReason, Message: msg}, now)
}

// ready tells whether the node can run pods, and why (not).
func (k *Kubelet) ready() (bool, string) {
	if k.runtime() == nil || !k.rtHealthy.Load() {
		return false, *k.rtMessage.Load()
	}
	return true, "kubelet is posting ready status"
}

// runtimeVersion is "<name>://<version>", as nodeInfo shows it; it is
// asked of the runtime once it is up.
func (k *Kubelet) runtimeVersion() string {
	rt := k.runtime()
	if rt == nil || !k.rtHealthy.Load() {
		return ""
	}
	if v := k.rtVersion.Load(); v != nil {
		return *v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := rt.Version(ctx)
	if err != nil {
		return ""
	}
	s := v.RuntimeName + "://" + v.RuntimeVersion
	k.rtVersion.Store(&s)
	return s
}

func setNodeCondition(st *corev1.NodeStatus, t corev1.NodeConditionType, pressure bool, yes, no, yesMsg, noMsg string, now time.Time) {
	c := corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: no, Message: noMsg}
	if pressure {
		c.Status, c.Reason, c.Message = corev1.ConditionTrue, yes, yesMsg
	}
	putNodeCondition(st, c, now)
}

// putNodeCondition sets condition c, keeping its transition time when its
// status did not change; its heartbeat is now.
func putNodeCondition(st *corev1.NodeStatus, c corev1.NodeCondition, now time.Time) {
	t := metav1.NewTime(now.Truncate(time.Second))
	c.LastHeartbeatTime, c.LastTransitionTime = t, t
	for i := range st.Conditions {
		if st.Conditions[i].Type != c.Type {
			continue
		}
		if st.Conditions[i].Status == c.Status {
			c.LastTransitionTime = st.Conditions[i].LastTransitionTime
		}
		st.Conditions[i] = c
		return
	}
	st.Conditions = append(st.Conditions, c)
}

// nodeStatusChanged compares two statuses, heartbeat times aside.
func nodeStatusChanged(a, b *corev1.NodeStatus) bool {
	strip := func(s *corev1.NodeStatus) *corev1.NodeStatus {
		s = s.DeepCopy()
		for i := range s.Conditions {
			s.Conditions[i].LastHeartbeatTime = metav1.Time{}
		}
		return s
	}
	return !equality.Semantic.DeepEqual(strip(a), strip(b))
}

// waitPodCIDR polls the Node until the node-IPAM controller gave it a
// spec.podCIDR, and returns it.
func (k *Kubelet) waitPodCIDR(ctx context.Context) (string, error) {
	logged := false
	for {
		n, err := k.client.CoreV1().Nodes().Get(ctx, k.opts.NodeName, metav1.GetOptions{})
		if err == nil && n.Spec.PodCIDR != "" {
			return n.Spec.PodCIDR, nil
		}
		if !logged {
			k.log.Info("waiting for the node's podCIDR")
			logged = true
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
