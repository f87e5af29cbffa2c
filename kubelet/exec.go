package kubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// ErrExecNotSupported: the node's runtime cannot attach streams to a
// command (the in-memory runtime of hollow nodes).
var ErrExecNotSupported = errors.New("this node's container runtime does not support exec")

// errContainerNotRunning: exec into a container that has no running
// instance.
var errContainerNotRunning = errors.New("container not running")

// execIdleTimeout ends an exec stream on which nothing moved for this
// long, as the kubelet's --streaming-connection-idle-timeout does.
const execIdleTimeout = 4 * time.Hour

// ErrExecNotFound: the pod is not on this node or has no such container.
var ErrExecNotFound = errors.New("not found")

// execTarget finds the running container's ID and a runtime that can exec
// in it.
func (k *Kubelet) execTarget(ctx context.Context, namespace, podName, container string) (string, StreamExecer, error) {
	rt := k.runtime()
	var pod *corev1.Pod
	for _, p := range k.Pods() {
		if p.Namespace == namespace && p.Name == podName {
			pod = p
		}
	}
	if pod == nil || rt == nil {
		return "", nil, fmt.Errorf("%w: pod %q in namespace %q is not on this node", ErrExecNotFound, podName, namespace)
	}
	se, ok := rt.(StreamExecer)
	if !ok {
		return "", nil, ErrExecNotSupported
	}
	state, err := k.readPodState(ctx, pod.UID)
	if err != nil {
		return "", nil, err
	}
	insts, ok := state.containers[container]
	if !ok {
		return "", nil, fmt.Errorf("%w: container %q in pod %q", ErrExecNotFound, container, podName)
	}
	if len(insts) == 0 || insts[0].State != ContainerRunning {
		return "", nil, fmt.Errorf("%w: %q in pod %q", errContainerNotRunning, container, podName)
	}
	return insts[0].ID, se, nil
}

// Channels of the remote command protocol, by the file descriptor they
// stand for.
const (
	stdinChannel = iota
	stdoutChannel
	stderrChannel
	errorChannel
	resizeChannel
)

// serveExec is the kubelet API's /exec/{namespace}/{pod}/{container}, as
// Kubernetes' kubelet serves it to the API server for kubectl exec: the
// query says command (repeated), stdin, stdout, stderr and tty; the
// streams go over a WebSocket with the remote command subprotocol
// v5.channel.k8s.io (or v4), and the error channel ends with a Status,
// whose NonZeroExitCode cause carries the command's exit code.
func (k *Kubelet) serveExec(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	flag := func(name string) bool { b, _ := strconv.ParseBool(q.Get(name)); return b }
	cmd := q["command"]
	stdin, stdout, stderr, tty := flag("stdin"), flag("stdout"), flag("stderr"), flag("tty")
	switch {
	case len(cmd) == 0:
		http.Error(w, "you must specify at least one command for the container", http.StatusBadRequest)
		return
	case !stdin && !stdout && !stderr:
		http.Error(w, "you must specify at least one of stdin, stdout, stderr", http.StatusBadRequest)
		return
	case tty && stderr:
		http.Error(w, "stderr cannot be used with tty", http.StatusBadRequest)
		return
	case !wsstream.IsWebSocketRequest(r):
		http.Error(w, "exec is served over WebSocket ("+remotecommand.StreamProtocolV5Name+" or "+remotecommand.StreamProtocolV4Name+")", http.StatusBadRequest)
		return
	}
	ns, pod, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	id, se, err := k.execTarget(r.Context(), ns, pod, container)
	switch {
	case errors.Is(err, ErrExecNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case errors.Is(err, errContainerNotRunning), errors.Is(err, ErrExecNotSupported):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}

	channels := []wsstream.ChannelType{wsstream.IgnoreChannel, wsstream.IgnoreChannel, wsstream.IgnoreChannel, wsstream.WriteChannel, wsstream.ReadChannel}
	if stdin {
		channels[stdinChannel] = wsstream.ReadChannel
	}
	if stdout {
		channels[stdoutChannel] = wsstream.WriteChannel
	}
	if stderr {
		channels[stderrChannel] = wsstream.WriteChannel
	}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		remotecommand.StreamProtocolV5Name: {Binary: true, Channels: channels},
		remotecommand.StreamProtocolV4Name: {Binary: true, Channels: channels},
		"v4.base64.channel.k8s.io":         {Binary: false, Channels: channels},
	})
	conn.SetIdleTimeout(execIdleTimeout)
	_, rwc, err := conn.Open(w, r)
	if err != nil {
		k.log.Info("exec: websocket not opened", "pod", ns+"/"+pod, "err", err)
		return
	}
	defer conn.Close()
	// An empty message on the lowest writable channel tells the client the
	// streams are up.
	switch {
	case stdout:
		rwc[stdoutChannel].Write(nil)
	case stderr:
		rwc[stderrChannel].Write(nil)
	default:
		rwc[errorChannel].Write(nil)
	}
	streams := ExecStreams{TTY: tty}
	if stdin {
		streams.Stdin = rwc[stdinChannel]
	}
	if stdout {
		streams.Stdout = rwc[stdoutChannel]
	}
	if stderr {
		streams.Stderr = rwc[stderrChannel]
	}
	if tty {
		sizes := make(chan TerminalSize, 1)
		streams.Resize = sizes
		go readTerminalSizes(rwc[resizeChannel], sizes)
	}
	k.log.Debug("exec", "pod", ns+"/"+pod, "container", container, "command", cmd)
	code, err := se.Exec(r.Context(), id, cmd, streams)
	status := metav1.Status{Status: metav1.StatusSuccess}
	switch {
	case err != nil:
		status = apierrors.NewInternalError(fmt.Errorf("error executing command in container: %w", err)).ErrStatus
	case code != 0:
		status = metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommand.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: exit status %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: remotecommand.ExitCodeCauseType, Message: strconv.Itoa(int(code))}}},
		}
	}
	b, _ := json.Marshal(status)
	rwc[errorChannel].Write(b)
}

// readTerminalSizes decodes the resize channel's JSON sizes into sizes
// until the stream ends, keeping only the newest size unread.
func readTerminalSizes(r io.Reader, sizes chan TerminalSize) {
	defer close(sizes)
	dec := json.NewDecoder(r)
	for {
		var size TerminalSize
		if err := dec.Decode(&size); err != nil {
			return
		}
		select {
		case sizes <- size:
		default:
			select {
			case <-sizes:
			default:
			}
			sizes <- size
		}
	}
}
