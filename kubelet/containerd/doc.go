// Package containerd implements kubelet.Runtime on containerd (Go client
// v2, speaking to containerd 1.6 and later) with runc, and starts private
// containerd daemons (StartDaemon, Supervise) for nodes that have none.
//
// # Model
//
// All objects live in one containerd namespace (default "navarch").
//
//   - A sandbox is a containerd container record without a task (no pause
//     process). Its network namespace is created by kubelet/network,
//     pinned under the network data dir and wired by CNI; its labels hold
//     the pod's identity, netns path, IP and state.
//   - A container is a containerd container (snapshot, OCI spec) whose spec
//     joins the sandbox's network namespace by path, so all containers of a
//     pod share the IP and localhost; it gets the pod's hostname and a
//     per-pod /etc/hosts, its own cgroup under
//     <CgroupParent>/pod-<sandbox>/, and runc limits from Resources.
//   - Exits are recorded into the container's labels (exit code, finish
//     time, reason — OOMKilled read from the cgroup) and the task is then
//     deleted, so no shim lingers for exited containers. This happens on
//     the /tasks/exit event, on StopContainer, and whenever a status read
//     finds a stopped task — so exits that happen while the kubelet is down
//     are recorded when it comes back.
//
// Every fact a restarted kubelet needs is in containerd's labels (see
// labels.go) or under StateDir; Runtime keeps no memory of its own.
//
// # Logs
//
// A container's stdout and stderr go, interleaved and unmodified, to
// ContainerConfig.LogPath through containerd's binary:// log URI: the shim
// starts a log driver beside the container (/bin/sh with one cat per
// stream, each appending with O_APPEND), not the shim's own file writer,
// which loses stderr's last output when stdout ends first. Output
// therefore keeps flowing while the kubelet restarts, and the file can be
// capped by copy-truncate rotation (copy to .1, truncate in place: the
// appends continue at the new end). Rotation is the kubelet's job.
//
// # Daemon
//
// StartDaemon writes a config keeping root, state and socket under one
// directory (CRI plugin disabled) and runs containerd as a child process;
// Supervise restarts it when it dies. internal/containerdtest uses the
// same code for tests.
package containerd
