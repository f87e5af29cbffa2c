package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// isolate clears every NAVARCH_ variable and points HOME at an empty
// directory, so that the machine's own settings do not leak into a test.
func isolate(t *testing.T) (home string) {
	t.Helper()
	for _, o := range Options() {
		t.Setenv(o.Env(), "")
	}
	home = t.TempDir()
	t.Setenv("HOME", home)
	return home
}

// flags returns a flag set holding every option, parsed from args.
func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs, Options()...)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return fs
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultsAreValidAndMatchTheDesign(t *testing.T) {
	home := isolate(t)
	c, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"data dir", c.DataDir, filepath.Join(home, ".navarch")},
		{"bind address", c.Server.BindAddress, "127.0.0.1"},
		{"port", c.Server.Port, 6443},
		{"max request bytes", c.Server.MaxRequestBytes, int64(3 << 20)},
		{"etcd endpoints", len(c.Server.Etcd.Endpoints), 0},
		{"compaction interval", c.Server.Etcd.CompactionInterval, 5 * time.Minute},
		{"compaction retention", c.Server.Etcd.CompactionRetention, 5 * time.Minute},
		{"log level", c.Log.Level, "info"},
		{"log format", c.Log.Format, "text"},
		{"kubeconfig", c.KubeconfigPath(), filepath.Join(home, ".navarch", "kubeconfig")},
		{"service CIDR", c.Server.ServiceCIDR, "10.96.0.0/12"},
		{"node port range", c.Server.NodePortRange, "30000-32767"},
		{"proxy table", c.Proxy.Table, "navarch"},
		{"cluster CIDR", c.Server.ClusterCIDR, "10.244.0.0/16"},
		{"proxy sync period", c.Proxy.SyncPeriod, 30 * time.Second},
		{"proxy min sync interval", c.Proxy.MinSyncInterval, 20 * time.Millisecond},
		{"proxy enabled", c.Proxy.Disable, false},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestFlagsBeatEnvironmentWhichBeatsTheConfigFile(t *testing.T) {
	tests := []struct {
		name          string
		file          string
		env           map[string]string
		args          []string
		wantPort      int
		wantEndpoints []string
		wantInterval  time.Duration
		wantLevel     string
	}{
		{
			name:         "defaults alone",
			wantPort:     6443,
			wantInterval: 5 * time.Minute,
			wantLevel:    "info",
		},
		{
			name:          "file over defaults",
			file:          "log: {level: debug}\nserver:\n  port: 1001\n  etcd:\n    endpoints: [http://127.0.0.1:1]\n    compaction-interval: 1m\n",
			wantPort:      1001,
			wantEndpoints: []string{"http://127.0.0.1:1"},
			wantInterval:  time.Minute,
			wantLevel:     "debug",
		},
		{
			name: "environment over file",
			file: "log: {level: debug}\nserver:\n  port: 1001\n  etcd:\n    endpoints: [http://127.0.0.1:1]\n    compaction-interval: 1m\n",
			env: map[string]string{
				"NAVARCH_PORT":                     "2002",
				"NAVARCH_ETCD_ENDPOINTS":           "http://127.0.0.1:2,http://127.0.0.1:3",
				"NAVARCH_ETCD_COMPACTION_INTERVAL": "2m",
				"NAVARCH_LOG_LEVEL":                "warn",
			},
			wantPort:      2002,
			wantEndpoints: []string{"http://127.0.0.1:2", "http://127.0.0.1:3"},
			wantInterval:  2 * time.Minute,
			wantLevel:     "warn",
		},
		{
			name: "flags over environment and file",
			file: "log: {level: debug}\nserver:\n  port: 1001\n  etcd:\n    endpoints: [http://127.0.0.1:1]\n",
			env: map[string]string{
				"NAVARCH_PORT":           "2002",
				"NAVARCH_ETCD_ENDPOINTS": "http://127.0.0.1:2",
				"NAVARCH_LOG_LEVEL":      "warn",
			},
			args:          []string{"--port=3003", "--etcd-endpoints=http://127.0.0.1:4", "--etcd-compaction-interval=3m", "--log-level=error"},
			wantPort:      3003,
			wantEndpoints: []string{"http://127.0.0.1:4"},
			wantInterval:  3 * time.Minute,
			wantLevel:     "error",
		},
		{
			name:          "a flag wins only where it is set",
			file:          "server: {port: 1001}\n",
			env:           map[string]string{"NAVARCH_ETCD_ENDPOINTS": "http://127.0.0.1:2"},
			args:          []string{"--log-level=debug"},
			wantPort:      1001,
			wantEndpoints: []string{"http://127.0.0.1:2"},
			wantInterval:  5 * time.Minute,
			wantLevel:     "debug",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			args := tt.args
			if tt.file != "" {
				args = append(args, "--config="+writeFile(t, filepath.Join(t.TempDir(), "navarch.yaml"), tt.file))
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load(flags(t, args...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Server.Port != tt.wantPort {
				t.Errorf("port: got %d, want %d", c.Server.Port, tt.wantPort)
			}
			if !slices.Equal(c.Server.Etcd.Endpoints, tt.wantEndpoints) && len(c.Server.Etcd.Endpoints)+len(tt.wantEndpoints) > 0 {
				t.Errorf("etcd endpoints: got %q, want %q", c.Server.Etcd.Endpoints, tt.wantEndpoints)
			}
			if c.Server.Etcd.CompactionInterval != tt.wantInterval {
				t.Errorf("compaction interval: got %s, want %s", c.Server.Etcd.CompactionInterval, tt.wantInterval)
			}
			if c.Log.Level != tt.wantLevel {
				t.Errorf("log level: got %q, want %q", c.Log.Level, tt.wantLevel)
			}
		})
	}
}

func TestTheConfigFileInTheDataDirIsReadWhenPresent(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, DefaultConfigFile), "server: {port: 7443}\n")
	t.Setenv("NAVARCH_DATA_DIR", dir)
	c, err := Load(flags(t))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Server.Port != 7443 {
		t.Errorf("port: got %d, want 7443 from %s", c.Server.Port, path)
	}
	if c.ConfigFile != path {
		t.Errorf("config file: got %q, want %q", c.ConfigFile, path)
	}
}

func TestNoConfigFileIsFine(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	c, err := Load(flags(t, "--data-dir="+dir))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.ConfigFile != "" || c.DataDir != dir {
		t.Errorf("got config file %q and data dir %q, want none and %q", c.ConfigFile, c.DataDir, dir)
	}
}

func TestLoadWithoutFlagsUsesEnvironment(t *testing.T) {
	isolate(t)
	t.Setenv("NAVARCH_PORT", "8443")
	c, err := Load(nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Server.Port != 8443 {
		t.Errorf("port: got %d, want 8443", c.Server.Port)
	}
}

func TestRelativeAndHomeDataDirsBecomeAbsolute(t *testing.T) {
	home := isolate(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ arg, want string }{
		{"~/state", filepath.Join(home, "state")},
		{"rel/state", filepath.Join(wd, "rel/state")},
	}
	for _, tt := range tests {
		c, err := Load(flags(t, "--data-dir="+tt.arg))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if c.DataDir != tt.want {
			t.Errorf("data dir %q: got %q, want %q", tt.arg, c.DataDir, tt.want)
		}
	}
}

func TestBadConfigFilesAreRefusedWithTheirPath(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"unknown key", "server: {prot: 1}\n", "prot"},
		{"the pod network in the proxy section", "proxy: {cluster-cidr: 10.244.0.0/16}\n", "cluster-cidr"},
		{"unknown section", "kubelett: {port: 1}\n", "kubelett"},
		{"not yaml", "server: [\n", "navarch.yaml"},
		{"wrong type", "server: {port: many}\n", "port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			path := writeFile(t, filepath.Join(t.TempDir(), "navarch.yaml"), tt.content)
			_, err := Load(flags(t, "--config="+path))
			if !errors.Is(err, ErrConfigFile) {
				t.Fatalf("got %v, want an error wrapping ErrConfigFile", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestAMissingExplicitConfigFileIsAnError(t *testing.T) {
	isolate(t)
	_, err := Load(flags(t, "--config="+filepath.Join(t.TempDir(), "absent.yaml")))
	if !errors.Is(err, ErrConfigFile) {
		t.Fatalf("got %v, want an error wrapping ErrConfigFile", err)
	}
}

func TestOptionsAreWellFormed(t *testing.T) {
	keys, flagNames := map[string]bool{}, map[string]bool{}
	for _, o := range Options() {
		if keys[o.Key] || flagNames[o.Flag] {
			t.Errorf("option %s (--%s) is declared twice", o.Key, o.Flag)
		}
		keys[o.Key], flagNames[o.Flag] = true, true
		if o.Usage == "" {
			t.Errorf("option %s has no usage text", o.Key)
		}
	}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs, Options()...)
	if got := fs.Lookup("etcd-endpoints").Usage; !strings.Contains(got, "$NAVARCH_ETCD_ENDPOINTS") {
		t.Errorf("usage %q does not name its environment variable", got)
	}
}

func TestTheClusterCIDRIsOneServerSettingForFileEnvironmentAndFlag(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  string
		args []string
		want string
	}{
		{name: "file", file: "server: {cluster-cidr: 10.201.0.0/16}\n", want: "10.201.0.0/16"},
		{name: "environment", env: "10.202.0.0/16", want: "10.202.0.0/16"},
		{name: "flag", env: "10.202.0.0/16", args: []string{"--cluster-cidr=10.203.0.0/16"}, want: "10.203.0.0/16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			args := tt.args
			if tt.file != "" {
				args = append(args, "--config="+writeFile(t, filepath.Join(t.TempDir(), "navarch.yaml"), tt.file))
			}
			if tt.env != "" {
				t.Setenv("NAVARCH_CLUSTER_CIDR", tt.env)
			}
			c, err := Load(flags(t, args...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Server.ClusterCIDR != tt.want {
				t.Errorf("got %q, want %q", c.Server.ClusterCIDR, tt.want)
			}
		})
	}
}
