package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/apiserver"
	"github.com/navarch/navarch/config"
	"github.com/navarch/navarch/internal/leader"
	"github.com/navarch/navarch/store"
)

// controlPlane is the store (embedded etcd or a client of an external
// cluster) and the API server over it. At start it writes the admin
// kubeconfig to <data-dir>/kubeconfig and prints to out how to use it.
// beside runs next to the cluster loops (this machine's node in navarch
// up) and stops before the API server.
func controlPlane(cfg *config.Config, logger *slog.Logger, out io.Writer, beside ...func(context.Context, *apiserver.Server) error) component {
	return component{name: "control plane", run: func(ctx context.Context) error {
		unlock, err := lockDataDir(cfg.DataDir, serverLock)
		if err != nil {
			return fmt.Errorf("a navarch server already runs on %s: %w", cfg.DataDir, err)
		}
		defer unlock()
		metrics, err := apiserver.NewMetrics(nil)
		if err != nil {
			return err
		}
		st, err := store.New(ctx, storeOptions(cfg, logger, metrics))
		if err != nil {
			return fmt.Errorf("start store: %w", err)
		}
		defer st.Close()
		srv, err := apiserver.New(apiserver.Options{
			DataDir:         cfg.DataDir,
			BindAddress:     cfg.Server.BindAddress,
			Port:            cfg.Server.Port,
			TokensFile:      tokensFile(cfg),
			MaxRequestBytes: cfg.Server.MaxRequestBytes,
			ExtraSANs:       cfg.Server.TLSSANs,
			ServiceCIDR:     cfg.Server.ServiceCIDR,
			NodePortRange:   cfg.Server.NodePortRange,
			Store:           st,
			Metrics:         metrics,
			Logger:          logger.With("component", "apiserver"),
		})
		if err != nil {
			return fmt.Errorf("create API server: %w", err)
		}
		if err := srv.EnablePodLogs(); err != nil {
			return fmt.Errorf("serve pod logs: %w", err)
		}
		if err := srv.EnablePodExec(); err != nil {
			return fmt.Errorf("serve pod exec: %w", err)
		}
		kubeconfig := cfg.KubeconfigPath()
		if err := srv.WriteKubeconfig(kubeconfig); err != nil {
			return fmt.Errorf("write kubeconfig: %w", err)
		}
		logger.Info("API server starting", "url", srv.URL(), "kubeconfig", kubeconfig, "etcd", etcdDescription(cfg))
		printHowToConnect(out, srv.URL(), kubeconfig, clientHint(cfg))
		gitops, err := newGitOps(cfg, logger, st, srv)
		if err != nil {
			return fmt.Errorf("create reconciler: %w", err)
		}
		// The loops stop before the API server, so that they release
		// their Leases through it and another server takes over at once.
		loops := newClusterLoops(cfg, logger, srv)
		serverCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
		defer stopServer()
		return runBeside(ctx,
			func(context.Context) error { return srv.Run(serverCtx) },
			func(ctx context.Context) error {
				defer stopServer()
				fns := []func(context.Context) error{loops.run, loops.leading(leader.ReconcilerLease, gitops.run)}
				for _, b := range beside {
					fns = append(fns, func(ctx context.Context) error { return b(ctx, srv) })
				}
				return runBeside(ctx, fns...)
			})
	}}
}

// storeOptions turns the server section of cfg into the store's options.
func storeOptions(cfg *config.Config, logger *slog.Logger, metrics store.MetricsSink) store.Options {
	interval := cfg.Server.Etcd.CompactionInterval
	if interval == 0 {
		interval = -1 // the store's "off"
	}
	return store.Options{
		DataDir:          cfg.DataDir,
		Endpoints:        cfg.Server.Etcd.Endpoints,
		CAFile:           cfg.Server.Etcd.CAFile,
		CertFile:         cfg.Server.Etcd.CertFile,
		KeyFile:          cfg.Server.Etcd.KeyFile,
		CompactInterval:  interval,
		CompactRetention: cfg.Server.Etcd.CompactionRetention,
		Codec:            api.LegacyCodec(api.GroupVersions()...),
		Metrics:          metrics,
		Logger:           logger,
	}
}

func etcdDescription(cfg *config.Config) string {
	if len(cfg.Server.Etcd.Endpoints) == 0 {
		return "embedded"
	}
	return fmt.Sprint(cfg.Server.Etcd.Endpoints)
}

// clientHint is the navarch command line that finds this server's
// kubeconfig: --data-dir is needed unless the data dir is the default.
func clientHint(cfg *config.Config) string {
	if def, err := config.Default(); err == nil && def.DataDir == cfg.DataDir {
		return "navarch"
	}
	return "navarch --data-dir " + cfg.DataDir
}

// printHowToConnect tells the user where the API is and how to reach it.
func printHowToConnect(out io.Writer, url, kubeconfig, navarch string) {
	fmt.Fprintf(out, `navarch API server: %s
Admin kubeconfig:   %s

Use it with kubectl:
  export KUBECONFIG=%s
  kubectl get namespaces
or with navarch, which finds it on its own:
  %s get namespaces
`, url, kubeconfig, kubeconfig, navarch)
}
