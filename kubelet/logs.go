package kubelet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Container logs live under DataDir/logs/<namespace>_<pod>_<uid>/<container>/<attempt>.log,
// as Kubernetes lays out /var/log/pods. The runtime's shim appends the
// container's output to the file; the kubelet caps it by copy-truncate
// rotation into <attempt>.log.1, .2 … (LogMaxFiles files in all), and
// serves it to the API server with follow, tailLines, limitBytes and
// previous.

// ErrLogNotFound is returned by ContainerLogs when the pod, the container
// or the asked instance of it does not exist.
var ErrLogNotFound = errors.New("log not found")

// LogOptions select what ContainerLogs writes.
type LogOptions struct {
	// Follow keeps writing what the container prints until it exits or
	// ctx ends.
	Follow bool
	// TailLines, when set, starts that many lines before the end.
	TailLines *int64
	// LimitBytes, when set, stops after that many bytes.
	LimitBytes *int64
	// Previous reads the instance before the current one.
	Previous bool
}

func (k *Kubelet) podLogDir(pod *corev1.Pod) string {
	return filepath.Join(k.opts.DataDir, "logs", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

func (k *Kubelet) containerLogPath(pod *corev1.Pod, name string, attempt uint32) string {
	return filepath.Join(k.podLogDir(pod), name, strconv.FormatUint(uint64(attempt), 10)+".log")
}

// logPathOf derives a container's log path from its labels.
func (k *Kubelet) logPathOf(c Container) string {
	l := c.Labels
	if l[labelPodUID] == "" {
		return ""
	}
	pod := &corev1.Pod{}
	pod.Namespace, pod.Name, pod.UID = l[labelPodNamespace], l[labelPodName], types.UID(l[labelPodUID])
	return k.containerLogPath(pod, l[labelContainerName], c.Attempt)
}

// removeLogs removes the log folder of pod uid.
func (k *Kubelet) removeLogs(uid types.UID) {
	dirs, _ := filepath.Glob(filepath.Join(k.opts.DataDir, "logs", "*_"+string(uid)))
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

// ContainerLogs writes the log of a container of a pod of this node to w.
// It returns an error wrapping ErrLogNotFound when there is no such pod,
// container or instance (the message says which, as Kubernetes does).
func (k *Kubelet) ContainerLogs(ctx context.Context, namespace, podName, container string, opts LogOptions, w io.Writer) error {
	var pod *corev1.Pod
	for _, p := range k.Pods() {
		if p.Namespace == namespace && p.Name == podName {
			pod = p
		}
	}
	if pod == nil || k.runtime() == nil {
		return logNotFound(fmt.Sprintf("pod %q in namespace %q is not on this node", podName, namespace))
	}
	state, err := k.readPodState(ctx, pod.UID)
	if err != nil {
		return err
	}
	insts := state.containers[container]
	idx := 0
	if opts.Previous {
		idx = 1
	}
	if len(insts) <= idx {
		if opts.Previous {
			return logNotFound(fmt.Sprintf("previous terminated container %q in pod %q not found", container, podName))
		}
		return logNotFound(fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, podName, waitingReason(pod, container)))
	}
	inst := insts[idx]
	path := inst.LogPath
	if path == "" {
		path = k.logPathOf(inst.Container)
	}
	if opts.LimitBytes != nil {
		w = &limitWriter{w: w, n: *opts.LimitBytes}
	}
	offset, err := k.writeLogFiles(path, opts.TailLines, w)
	if err != nil || !opts.Follow || inst.State != ContainerRunning {
		return ignoreLimit(err)
	}
	return ignoreLimit(k.followLog(ctx, path, offset, inst.ID, w))
}

// logNotFound is an ErrLogNotFound whose message is Kubernetes' alone.
type logNotFound string

func (e logNotFound) Error() string        { return string(e) }
func (e logNotFound) Is(target error) bool { return target == ErrLogNotFound }

func waitingReason(pod *corev1.Pod, container string) string {
	for _, cs := range append(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses...) {
		if cs.Name == container && cs.State.Waiting != nil {
			return cs.State.Waiting.Reason
		}
	}
	return reasonContainerCreating
}

// logFiles lists the files of a log, oldest first: path.N … path.1, path.
func logFiles(path string) []string {
	var rotated []string
	for i := 1; ; i++ {
		p := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(p); err != nil {
			break
		}
		rotated = append(rotated, p)
	}
	out := make([]string, 0, len(rotated)+1)
	for i := len(rotated) - 1; i >= 0; i-- {
		out = append(out, rotated[i])
	}
	return append(out, path)
}

// writeLogFiles writes the log (its last tail lines when tail is set) and
// returns the size of the live file it read up to.
func (k *Kubelet) writeLogFiles(path string, tail *int64, w io.Writer) (int64, error) {
	files := logFiles(path)
	var chunks [][]byte
	var offset int64
	need := int64(-1)
	if tail != nil {
		need = max(*tail, 0)
	}
	for i := len(files) - 1; i >= 0; i-- {
		b, err := os.ReadFile(files[i])
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
		if i == len(files)-1 {
			offset = int64(len(b))
		}
		if need >= 0 {
			b, need = lastLines(b, need)
		}
		chunks = append(chunks, b)
		if need == 0 {
			break
		}
	}
	for i := len(chunks) - 1; i >= 0; i-- {
		if _, err := w.Write(chunks[i]); err != nil {
			return offset, err
		}
	}
	flush(w)
	return offset, nil
}

// lastLines returns the last n lines of b and how many lines are still
// wanted from what precedes b.
func lastLines(b []byte, n int64) ([]byte, int64) {
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			n--
			if n == 0 {
				return b[i+1:], 0
			}
		}
	}
	if len(b) == 0 {
		return b, n
	}
	return b, n - 1
}

// followLog writes what is appended to the live file from offset on, until
// the container exits or ctx ends. A rotation (the file shrank) is
// followed: the rest of the old content is read from path.1.
func (k *Kubelet) followLog(ctx context.Context, path string, offset int64, id string, w io.Writer) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastCheck := time.Now()
	for {
		st, err := os.Stat(path)
		if err == nil && st.Size() < offset {
			if rest, err := readFrom(path+".1", offset); err == nil {
				if _, err := w.Write(rest); err != nil {
					return err
				}
			}
			offset = 0
		}
		if err == nil && st.Size() > offset {
			rest, err := readFrom(path, offset)
			if err != nil {
				return err
			}
			if _, err := w.Write(rest); err != nil {
				return err
			}
			offset += int64(len(rest))
			flush(w)
		}
		if time.Since(lastCheck) > time.Second {
			lastCheck = time.Now()
			cs, err := k.runtime().ContainerStatus(ctx, id)
			if err != nil || cs.State != ContainerRunning {
				// Drain what the last write left, then end.
				if rest, err := readFrom(path, offset); err == nil && len(rest) > 0 {
					w.Write(rest)
					flush(w)
				}
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func readFrom(path string, offset int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

func flush(w io.Writer) {
	for {
		switch x := w.(type) {
		case interface{ Flush() }:
			x.Flush()
			return
		case *limitWriter:
			w = x.w
		default:
			return
		}
	}
}

// errLimit ends a log read that reached limitBytes.
var errLimit = errors.New("limit reached")

type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errLimit
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.w.Write(p)
	l.n -= int64(n)
	if err == nil && l.n <= 0 {
		err = errLimit
	}
	return n, err
}

func ignoreLimit(err error) error {
	if errors.Is(err, errLimit) {
		return nil
	}
	return err
}

// rotateLoop caps the log files of running containers every
// LogRotateInterval.
func (k *Kubelet) rotateLoop(ctx context.Context) {
	tick := time.NewTicker(k.opts.LogRotateInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cs, err := k.runtime().ListContainers(ctx, ContainerFilter{State: ContainerRunning})
		if err != nil {
			continue
		}
		for _, c := range cs {
			if p := k.logPathOf(c); p != "" {
				if err := rotateLog(p, k.opts.LogMaxSize, k.opts.LogMaxFiles); err != nil {
					k.log.Warn("rotate container log", "path", p, "err", err)
				}
			}
		}
	}
}

// rotateLog rotates path when it is larger than maxSize: path.(i) moves to
// path.(i+1), path is copied to path.1 and truncated in place (the shim
// keeps appending to it). At most maxFiles files remain.
func rotateLog(path string, maxSize int64, maxFiles int) error {
	st, err := os.Stat(path)
	if err != nil || st.Size() <= maxSize {
		return nil
	}
	for i := maxFiles; i < maxFiles+8; i++ {
		os.Remove(path + "." + strconv.Itoa(i))
	}
	if maxFiles <= 1 {
		return os.Truncate(path, 0)
	}
	for i := maxFiles - 1; i >= 2; i-- {
		os.Rename(path+"."+strconv.Itoa(i-1), path+"."+strconv.Itoa(i))
	}
	if err := copyFile(path, path+".1"); err != nil {
		return err
	}
	return os.Truncate(path, 0)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	if _, err := io.Copy(bw, in); err != nil {
		out.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
