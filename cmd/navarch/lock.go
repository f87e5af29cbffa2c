package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/navarch/navarch/internal/lockfile"
)

// Locks a running navarch holds on its data dir, one per role, so that
// `navarch reset` never removes what a running process uses. A server and
// an agent may share a data dir (each has its own folders in it); two
// servers or two nodes may not.
const (
	serverLock = "server.lock" // navarch server and up: etcd, PKI, tokens
	nodeLock   = "node.lock"   // the kubelet of navarch agent and up: containerd, pod network
)

// lockDataDir takes the lock <dataDir>/<name> (lockfile.Lock) until the
// returned function is called or the process ends. A held lock is an
// error wrapping lockfile.ErrLocked.
func lockDataDir(dataDir, name string) (unlock func(), err error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	f, err := lockfile.Lock(filepath.Join(dataDir, name))
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}
