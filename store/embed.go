package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"

	"github.com/navarch/navarch/internal/lockfile"
)

// maxSocketPath is the longest unix socket path the kernel accepts, less a
// margin (sun_path is 108 bytes on Linux).
const maxSocketPath = 100

// embedded is a running in-process etcd and what it holds on the disk.
type embedded struct {
	etcd     *embed.Etcd
	endpoint string // unix:///… of the client socket
	lock     *os.File
	sockDir  string // a temporary directory holding the socket, if any
	closing  atomic.Bool
}

// startEmbedded starts an etcd server with its data in dataDir/etcd.
//
// Clients reach it over a unix socket, dataDir/etcd.sock (or a socket in a
// fresh temporary directory when that path is too long for a socket), and it
// opens no peer listener: a single member never talks to peers. So any number
// of embedded servers run side by side on one machine without a port to
// collide on. A lock file, dataDir/etcd.lock, keeps a second process from
// starting over the same data.
func startEmbedded(ctx context.Context, opts Options) (*embedded, error) {
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("start etcd: data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("start etcd: %w", err)
	}
	e := &embedded{}
	if e.lock, err = lockfile.Lock(filepath.Join(dataDir, "etcd.lock")); err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", dataDir, err)
	}
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()

	sock := filepath.Join(dataDir, "etcd.sock")
	if len(sock) > maxSocketPath {
		if e.sockDir, err = os.MkdirTemp("", "navarch-etcd-"); err != nil {
			return nil, fmt.Errorf("start etcd: socket dir: %w", err)
		}
		sock = filepath.Join(e.sockDir, "etcd.sock")
	}
	clientURL := url.URL{Scheme: "unix", Path: sock}
	e.endpoint = clientURL.String()

	cfg := embed.NewConfig()
	cfg.Name = "navarch"
	cfg.Dir = filepath.Join(dataDir, "etcd")
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenClientHttpUrls = nil
	cfg.ListenPeerUrls = nil
	// The advertised peer URL is only the member's identity in its
	// one-member cluster; nothing listens on it or dials it.
	peerURL := url.URL{Scheme: "http", Host: "localhost:2380"}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.InitialClusterToken = "navarch"
	cfg.MaxRequestBytes = MaxRequestBytes
	cfg.MaxTxnOps = MaxTxnOps
	cfg.QuotaBackendBytes = QuotaBackendBytes
	cfg.UnsafeNoFsync = opts.UnsafeNoFsync
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.Logger = "zap"
	cfg.LogOutputs = []string{"stderr"}
	cfg.LogLevel = "error"
	if opts.Debug {
		cfg.LogLevel = "info"
	}
	lg, err := etcdLogger(opts.Debug, &e.closing)
	if err != nil {
		return nil, fmt.Errorf("start etcd: logger: %w", err)
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	// Compaction is the store's own loop (see compact.go), coordinated
	// between servers sharing a cluster; etcd's is off.
	cfg.AutoCompactionMode = embed.CompactorModePeriodic
	cfg.AutoCompactionRetention = "0"

	e.etcd, err = embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", cfg.Dir, err)
	}
	timer := time.NewTimer(opts.StartTimeout)
	defer timer.Stop()
	select {
	case <-e.etcd.Server.ReadyNotify():
	case err := <-e.etcd.Err():
		return nil, fmt.Errorf("start etcd in %s: %w", cfg.Dir, err)
	case <-timer.C:
		return nil, fmt.Errorf("start etcd in %s: not ready after %s", cfg.Dir, opts.StartTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("start etcd in %s: %w", cfg.Dir, ctx.Err())
	}
	ok = true
	return e, nil
}

// close stops the server and releases the socket directory and the lock.
func (e *embedded) close() {
	e.closing.Store(true)
	if e.etcd != nil {
		e.etcd.Close()
		e.etcd = nil
	}
	if e.sockDir != "" {
		os.RemoveAll(e.sockDir)
		e.sockDir = ""
	}
	if e.lock != nil {
		e.lock.Close() // closing the file releases the flock
		e.lock = nil
	}
}
