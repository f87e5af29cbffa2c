package store

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// Store keeps API objects in etcd. It is safe for concurrent use.
type Store struct {
	opts   Options
	log    *slog.Logger
	client *clientv3.Client
	etcd   *embedded // nil with an external cluster

	cancel    context.CancelFunc // stops background loops
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New starts an embedded etcd under opts.DataDir/etcd, or connects to the
// external cluster at opts.Endpoints, and returns a Store over it once etcd
// answers. It starts the compaction loop unless opts.CompactInterval is
// negative. The caller must Close the Store.
func New(ctx context.Context, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	s := &Store{opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "store")

	cfg := clientv3.Config{
		DialTimeout:        opts.StartTimeout,
		MaxCallSendMsgSize: MaxRequestBytes + grpcOverhead,
		MaxCallRecvMsgSize: math.MaxInt32,
		Logger:             zap.NewNop(),
		DialOptions:        []grpc.DialOption{grpc.WithContextDialer(dialEtcd)},
	}
	if opts.Debug {
		cfg.Logger = nil // the client's default logger
	}
	if len(opts.Endpoints) == 0 {
		e, err := startEmbedded(ctx, opts)
		if err != nil {
			return nil, err
		}
		s.etcd = e
		cfg.Endpoints = []string{e.endpoint}
	} else {
		tlsConfig, err := clientTLS(opts)
		if err != nil {
			return nil, err
		}
		cfg.Endpoints = opts.Endpoints
		cfg.TLS = tlsConfig
	}
	client, err := clientv3.New(cfg)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to etcd %v: %w", cfg.Endpoints, err)
	}
	s.client = client

	readyCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	err = s.Ready(readyCtx)
	cancel()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to etcd %v: %w", cfg.Endpoints, err)
	}

	bg, cancelBG := context.WithCancel(context.Background())
	s.cancel = cancelBG
	if opts.CompactInterval > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.compactLoop(bg)
		}()
	}
	return s, nil
}

// clientTLS returns the TLS configuration for an external cluster, or nil
// when no TLS file is set.
func clientTLS(opts Options) (*tls.Config, error) {
	if opts.CAFile == "" && opts.CertFile == "" && opts.KeyFile == "" {
		return nil, nil
	}
	info := transport.TLSInfo{CertFile: opts.CertFile, KeyFile: opts.KeyFile, TrustedCAFile: opts.CAFile}
	c, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd client tls: %w", err)
	}
	return c, nil
}

// Close stops the compaction loop, closes the client and stops the
// embedded etcd. It is idempotent and returns the first Close's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		if s.client != nil {
			if err := s.client.Close(); err != nil && s.closeErr == nil {
				s.closeErr = fmt.Errorf("close etcd client: %w", err)
			}
		}
		if s.etcd != nil {
			s.etcd.close()
		}
	})
	return s.closeErr
}

// Client returns the etcd client, for what the Store does not cover (leader
// election, diagnostics). Writing objects through it bypasses the Store.
func (s *Store) Client() *clientv3.Client { return s.client }

// Ready returns nil when etcd answers a read, and the error otherwise.
func (s *Store) Ready(ctx context.Context) error {
	_, err := s.Revision(ctx)
	return err
}

// Revision returns etcd's current revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, healthKey, clientv3.WithCountOnly())
	if err != nil {
		return 0, etcdError("read revision", "", err)
	}
	return resp.Header.Revision, nil
}

// healthKey is a key never written, read to learn the revision.
const healthKey = "/registry/health"
