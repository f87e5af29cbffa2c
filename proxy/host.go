package proxy

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
)

// routeLocalnetPath is the sysctl that lets packets to 127.0.0.1 be
// DNATed to another host (NodePorts on 127.0.0.1).
const routeLocalnetPath = "/proc/sys/net/ipv4/conf/all/route_localnet"

// enableRouteLocalnet sets net.ipv4.conf.all.route_localnet=1, as
// kube-proxy does for NodePorts on localhost. The table's filter-input
// chain drops what it would otherwise let in (packets for 127.0.0.0/8
// arriving from other hosts).
func enableRouteLocalnet() error {
	cur, err := os.ReadFile(routeLocalnetPath)
	if err == nil && strings.TrimSpace(string(cur)) == "1" {
		return nil
	}
	if err := os.WriteFile(routeLocalnetPath, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("set net.ipv4.conf.all.route_localnet=1: %w", err)
	}
	return nil
}

// ensureLocalRoute makes cidr a local route (table local, on lo), so that
// no packet for a Service address leaves this host, whatever the rules
// say.
func ensureLocalRoute(ctx context.Context, cidr netip.Prefix) error {
	return ip(ctx, "route", "replace", "local", cidr.String(), "dev", "lo", "table", "local")
}

// removeLocalRoute removes the local route of cidr; a missing one is not
// an error.
func removeLocalRoute(ctx context.Context, cidr netip.Prefix) error {
	err := ip(ctx, "route", "del", "local", cidr.String(), "dev", "lo", "table", "local")
	if err != nil && strings.Contains(err.Error(), "No such process") {
		return nil
	}
	return err
}

// ip runs the ip command (iproute2).
func ip(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
