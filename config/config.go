package config

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Config is navarch's whole configuration, one field per section of the
// config file.
type Config struct {
	// ConfigFile is the config file that was read, or "" when none was.
	ConfigFile string `mapstructure:"config"`
	// DataDir holds everything a navarch process keeps: etcd's data, the
	// CA and serving certificates, tokens and the admin kubeconfig.
	DataDir string `mapstructure:"data-dir"`
	// Log configures the process's structured log.
	Log Log `mapstructure:"log"`
	// Server configures the control plane: the API server and its store.
	Server Server `mapstructure:"server"`
	// GitOps declares the Sources a control plane creates at start.
	GitOps GitOps `mapstructure:"gitops"`
	// Controllers configures the scheduler, the controller manager and
	// leader election.
	Controllers Controllers `mapstructure:"controllers"`
	// Agent configures this machine's node (navarch agent, navarch up).
	Agent Agent `mapstructure:"agent"`
	// Proxy configures the node's Service proxy (navarch agent, navarch up).
	Proxy Proxy `mapstructure:"proxy"`
}

// GlobalOptions returns the options every command takes.
func GlobalOptions() []Option {
	return []Option{
		{Key: "config", Flag: "config", Usage: "config file (default <data-dir>/config.yaml when it exists)", Default: ""},
		{Key: "data-dir", Flag: "data-dir", Usage: "directory for navarch's state", Default: "~/.navarch"},
		{Key: "log.level", Flag: "log-level", Usage: "log level: debug, info, warn or error", Default: "info"},
		{Key: "log.format", Flag: "log-format", Usage: "log format: text or json", Default: "text"},
	}
}

// KubeconfigPath is where the server writes the admin kubeconfig and where
// clients look for one when neither --kubeconfig nor KUBECONFIG is set.
func (c *Config) KubeconfigPath() string {
	return filepath.Join(c.DataDir, "kubeconfig")
}

// Validate reports every invalid setting, each prefixed with its key in
// the config file; nil means the configuration is usable.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir: must not be empty"))
	} else if !filepath.IsAbs(c.DataDir) {
		errs = append(errs, fmt.Errorf("data-dir: must be an absolute path, got %q", c.DataDir))
	}
	errs = append(errs, c.Log.Validate())
	errs = append(errs, c.Server.Validate())
	errs = append(errs, c.GitOps.Validate())
	errs = append(errs, c.Controllers.Validate())
	errs = append(errs, c.Agent.Validate())
	errs = append(errs, c.Proxy.Validate())
	return errors.Join(errs...)
}
