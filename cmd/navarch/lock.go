package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Locks a running navarch holds on its data dir, one per role, so that
// `navarch reset` never removes what a running process uses. A server and
// an agent may share a data dir (each has its own folders in it); two
// servers or two nodes may not.
const (
	serverLock = "server.lock" // navarch server and up: etcd, PKI, tokens
	nodeLock   = "node.lock"   // the kubelet of navarch agent and up: containerd, pod network
)

// errDataDirInUse: another process holds the lock.
var errDataDirInUse = errors.New("data dir in use")

// lockDataDir takes the exclusive lock <dataDir>/<name> for as long as the
// process runs or until the returned function is called. The kernel
// releases it when the process dies, however it dies. The file holds the
// holder's PID, for the message another process gets.
func lockDataDir(dataDir, name string) (unlock func(), err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(dataDir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := "another process"
			if b, rerr := os.ReadFile(path); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
					holder = fmt.Sprintf("process %d", pid)
				}
			}
			return nil, fmt.Errorf("%w: %s holds %s", errDataDirInUse, holder, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}
