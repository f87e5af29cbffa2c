package containerd

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/navarch/navarch/kubelet"
)

// Labels on containerd container records. They are the runtime's whole
// memory: a restarted kubelet rebuilds its view from them.
const (
	labelPrefix     = "io.navarch."
	annotationLabel = labelPrefix + "annotation." // + user annotation key

	labelKind = labelPrefix + "kind" // kindSandbox or kindContainer

	// sandboxes
	labelPodUID       = labelPrefix + "pod-uid"
	labelPodName      = labelPrefix + "pod-name"
	labelPodNamespace = labelPrefix + "pod-namespace"
	labelHostname     = labelPrefix + "hostname"
	labelLogDir       = labelPrefix + "log-dir"
	labelPorts        = labelPrefix + "ports" // JSON []kubelet.PortMapping
	labelNetNS        = labelPrefix + "netns"
	labelIP           = labelPrefix + "ip"
	labelState        = labelPrefix + "state" // kubelet.SandboxState

	// containers
	labelSandbox    = labelPrefix + "sandbox-id"
	labelName       = labelPrefix + "name"
	labelAttempt    = labelPrefix + "attempt"
	labelImage      = labelPrefix + "image"
	labelImageID    = labelPrefix + "image-id"
	labelLogPath    = labelPrefix + "log-path"
	labelCgroup     = labelPrefix + "cgroup"
	labelStartedAt  = labelPrefix + "started-at"
	labelFinishedAt = labelPrefix + "finished-at"
	labelExitCode   = labelPrefix + "exit-code"
	labelReason     = labelPrefix + "reason"
	labelMessage    = labelPrefix + "message"

	kindSandbox   = "sandbox"
	kindContainer = "container"
)

// maxMessage bounds a stored message; containerd caps a label at 4 KiB.
const maxMessage = 1024

// checkUserKeys refuses user labels and annotations in the reserved space.
func checkUserKeys(labels, annotations map[string]string) error {
	for _, m := range []map[string]string{labels, annotations} {
		for k := range m {
			if strings.HasPrefix(k, labelPrefix) {
				return fmt.Errorf("%w: key %q uses the reserved prefix %q", kubelet.ErrInvalidConfig, k, labelPrefix)
			}
		}
	}
	return nil
}

// userLabels stores user labels as they are and annotations under
// annotationLabel.
func userLabels(into, labels, annotations map[string]string) {
	for k, v := range labels {
		into[k] = v
	}
	for k, v := range annotations {
		into[annotationLabel+k] = v
	}
}

// splitLabels separates stored labels into user labels and annotations,
// dropping the runtime's own.
func splitLabels(stored map[string]string) (labels, annotations map[string]string) {
	labels, annotations = map[string]string{}, map[string]string{}
	for k, v := range stored {
		switch {
		case strings.HasPrefix(k, annotationLabel):
			annotations[strings.TrimPrefix(k, annotationLabel)] = v
		case !strings.HasPrefix(k, labelPrefix):
			labels[k] = v
		}
	}
	return labels, annotations
}

// matches reports whether every selector entry is among labels.
func matches(labels, selector map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func encodePorts(ports []kubelet.PortMapping) string {
	if len(ports) == 0 {
		return ""
	}
	b, _ := json.Marshal(ports)
	return string(b)
}

func decodePorts(s string) []kubelet.PortMapping {
	if s == "" {
		return nil
	}
	var ports []kubelet.PortMapping
	json.Unmarshal([]byte(s), &ports)
	return ports
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
