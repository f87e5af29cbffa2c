package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateNamesEachBadSetting(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"relative data dir", func(c *Config) { c.DataDir = "state" }, []string{"data-dir"}},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, []string{"data-dir"}},
		{"unknown log level", func(c *Config) { c.Log.Level = "loud" }, []string{"log.level"}},
		{"unknown log format", func(c *Config) { c.Log.Format = "xml" }, []string{"log.format"}},
		{"host name as bind address", func(c *Config) { c.Server.BindAddress = "localhost" }, []string{"server.bind-address"}},
		{"port out of range", func(c *Config) { c.Server.Port = -1 }, []string{"server.port"}},
		{"no request size", func(c *Config) { c.Server.MaxRequestBytes = 0 }, []string{"server.max-request-bytes"}},
		{"endpoint without scheme", func(c *Config) { c.Server.Etcd.Endpoints = []string{"127.0.0.1:2379"} }, []string{"server.etcd.endpoints"}},
		{"certificate without key", func(c *Config) {
			c.Server.Etcd.Endpoints = []string{"https://127.0.0.1:2379"}
			c.Server.Etcd.CertFile = "/etc/etcd/client.pem"
		}, []string{"server.etcd.keyfile"}},
		{"TLS for embedded etcd", func(c *Config) { c.Server.Etcd.CAFile = "/etc/etcd/ca.pem" }, []string{"server.etcd.endpoints"}},
		{"negative compaction interval", func(c *Config) { c.Server.Etcd.CompactionInterval = -time.Second }, []string{"compaction-interval"}},
		{"lease shorter than its renew deadline", func(c *Config) { c.Controllers.LeaseDuration = 5 * time.Second }, []string{"controllers.leader-elect-lease-duration"}},
		{"negative default toleration", func(c *Config) { c.Controllers.DefaultTolerationSeconds = -1 }, []string{"controllers.default-toleration-seconds"}},
		{"IPv6 service CIDR", func(c *Config) { c.Server.ServiceCIDR = "fd00::/108" }, []string{"server.service-cidr"}},
		{"service CIDR too small", func(c *Config) { c.Server.ServiceCIDR = "10.96.0.0/30" }, []string{"server.service-cidr"}},
		{"node port range backwards", func(c *Config) { c.Server.NodePortRange = "32767-30000" }, []string{"server.service-node-port-range"}},
		{"node port range of one number", func(c *Config) { c.Server.NodePortRange = "30000" }, []string{"server.service-node-port-range"}},
		{"empty proxy table", func(c *Config) { c.Proxy.Table = "" }, []string{"proxy.table"}},
		{"cluster CIDR without a prefix length", func(c *Config) { c.Server.ClusterCIDR = "10.244.0.0" }, []string{"server.cluster-cidr"}},
		{"IPv6 cluster CIDR", func(c *Config) { c.Server.ClusterCIDR = "fd00:10:244::/56" }, []string{"server.cluster-cidr"}},
		{"cluster CIDR wider than a /8", func(c *Config) { c.Server.ClusterCIDR = "10.0.0.0/7" }, []string{"server.cluster-cidr"}},
		{"cluster CIDR narrower than a node's /24", func(c *Config) { c.Server.ClusterCIDR = "10.244.0.0/25" }, []string{"server.cluster-cidr"}},
		{"cluster CIDR over the Service CIDR", func(c *Config) { c.Server.ClusterCIDR = "10.96.0.0/16" }, []string{"server.cluster-cidr", "10.96.0.0/12"}},
		{"IPv6 NodePort address", func(c *Config) { c.Proxy.NodeIPs = []string{"::1"} }, []string{"proxy.node-ips"}},
		{"no proxy sync period", func(c *Config) { c.Proxy.SyncPeriod = 0 }, []string{"proxy.sync-period"}},
		{"two mistakes at once", func(c *Config) {
			c.Server.Port = 70000
			c.Log.Format = "xml"
		}, []string{"server.port", "log.format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			c, err := Default()
			if err != nil {
				t.Fatal(err)
			}
			tt.change(c)
			err = c.Validate()
			if err == nil {
				t.Fatal("got no error, want one")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to name %q", err, w)
				}
			}
		})
	}
}

func TestClusterCIDRsFromASlash8ToOneNodesSlash24AreValid(t *testing.T) {
	tests := []struct{ cluster, service string }{
		{"10.0.0.0/8", "172.16.0.0/12"},
		{"10.244.0.0/16", DefaultServiceCIDR},
		{"10.213.7.0/24", DefaultServiceCIDR},
		{"192.168.0.0/17", DefaultServiceCIDR},
	}
	for _, tt := range tests {
		t.Run(tt.cluster, func(t *testing.T) {
			isolate(t)
			c, err := Default()
			if err != nil {
				t.Fatal(err)
			}
			c.Server.ClusterCIDR, c.Server.ServiceCIDR = tt.cluster, tt.service
			if err := c.Validate(); err != nil {
				t.Errorf("got %v, want no error", err)
			}
		})
	}
}
