package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"k8s.io/client-go/rest"

	"github.com/navarch/navarch/config"
	"github.com/navarch/navarch/proxy"
)

// proxyComponent runs this node's Service proxy: it routes the Service
// CIDR locally and programs the nftables table cfg.Proxy.Table from the
// cluster's Services and EndpointSlices, read with the node's client
// configuration. Its rules stay when it stops; cleanupProxy removes them.
func proxyComponent(cfg *config.Config, logger *slog.Logger, restCfg *rest.Config) component {
	return component{name: "proxy", run: func(ctx context.Context) error {
		name, err := nodeName(cfg)
		if err != nil {
			return err
		}
		rc := rest.CopyConfig(restCfg)
		rc.QPS, rc.Burst, rc.UserAgent = 20, 40, "navarch-proxy/"+name
		p, err := proxy.New(proxy.Options{
			NodeName:        name,
			NodeIPs:         proxyNodeIPs(cfg),
			TableName:       cfg.Proxy.Table,
			ServiceCIDR:     cfg.Server.ServiceCIDR,
			ClusterCIDR:     cfg.Server.ClusterCIDR,
			ClientConfig:    rc,
			SyncPeriod:      cfg.Proxy.SyncPeriod,
			MinSyncInterval: cfg.Proxy.MinSyncInterval,
			Logger:          logger,
		})
		if err != nil {
			return err
		}
		return p.Run(ctx)
	}}
}

// proxyNodeIPs are the addresses whose NodePorts the proxy serves:
// --proxy-node-ips, else --node-ip, else none given (the proxy then
// follows the addresses the kubelet reports for the Node).
func proxyNodeIPs(cfg *config.Config) []string {
	if len(cfg.Proxy.NodeIPs) > 0 {
		return cfg.Proxy.NodeIPs
	}
	if cfg.Agent.NodeIP != "" {
		return []string{cfg.Agent.NodeIP}
	}
	return nil
}

// cleanupProxy removes what this node's Service proxy made: its nftables
// table and the Service CIDR's local route. What is gone already is no
// error.
func cleanupProxy(ctx context.Context, cfg *config.Config, out io.Writer) error {
	if err := proxy.Cleanup(ctx, cfg.Proxy.Table, cfg.Server.ServiceCIDR); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	fmt.Fprintf(out, "nftables table ip %s and the local route of %s are gone\n", cfg.Proxy.Table, cfg.Server.ServiceCIDR)
	return nil
}
