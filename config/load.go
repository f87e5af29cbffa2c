package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// DefaultConfigFile is the config file read from the data dir when no
// --config is given and the file exists.
const DefaultConfigFile = "config.yaml"

// ErrConfigFile wraps every failure to read or decode the config file.
var ErrConfigFile = errors.New("config file")

// Load resolves the configuration from the options' defaults, the config
// file, the environment and the flags of fs that were set, in that order
// of precedence, then validates it. fs may be nil (no flags). Paths that
// start with ~/ are expanded and the data dir is made absolute. It fails
// with an error wrapping ErrConfigFile when the file cannot be read or
// holds an unknown key, and with Validate's error when a setting is
// invalid.
func Load(fs *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	for _, o := range Options() {
		v.SetDefault(o.Key, o.Default)
		if err := v.BindEnv(o.Key, o.Env()); err != nil {
			return nil, fmt.Errorf("bind %s: %w", o.Env(), err)
		}
		if fs == nil {
			continue
		}
		if f := fs.Lookup(o.Flag); f != nil {
			if err := v.BindPFlag(o.Key, f); err != nil {
				return nil, fmt.Errorf("bind --%s: %w", o.Flag, err)
			}
		}
	}
	path, err := configFile(v)
	if err != nil {
		return nil, err
	}
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrConfigFile, path, err)
		}
		v.Set("config", path)
	}
	c := &Config{}
	if err := v.UnmarshalExact(c); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrConfigFile, path, err)
	}
	if err := c.expandPaths(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Default returns the configuration made of the options' defaults alone,
// with the data dir expanded. It ignores the environment and any file.
func Default() (*Config, error) {
	v := viper.New()
	for _, o := range Options() {
		v.SetDefault(o.Key, o.Default)
	}
	c := &Config{}
	if err := v.UnmarshalExact(c); err != nil {
		return nil, err
	}
	if err := c.expandPaths(); err != nil {
		return nil, err
	}
	return c, nil
}

// configFile returns the config file to read: the one named by --config
// or NAVARCH_CONFIG (which must exist), else <data-dir>/config.yaml when
// it exists, else "".
func configFile(v *viper.Viper) (string, error) {
	if p := v.GetString("config"); p != "" {
		return expandHome(p)
	}
	dir, err := expandHome(v.GetString("data-dir"))
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, DefaultConfigFile)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrConfigFile, p, err)
	}
	return p, nil
}

// expandPaths expands ~/ in every path setting and makes the data dir
// absolute.
func (c *Config) expandPaths() error {
	for _, p := range []*string{&c.DataDir, &c.Server.TokensFile, &c.Server.Etcd.CAFile, &c.Server.Etcd.CertFile, &c.Server.Etcd.KeyFile, &c.Agent.CAFile} {
		s, err := expandHome(*p)
		if err != nil {
			return err
		}
		*p = s
	}
	if err := c.GitOps.expandPaths(); err != nil {
		return err
	}
	if c.DataDir != "" {
		abs, err := filepath.Abs(c.DataDir)
		if err != nil {
			return fmt.Errorf("data-dir: %w", err)
		}
		c.DataDir = abs
	}
	return nil
}

// expandHome replaces a leading ~ or ~/ with the user's home directory.
func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %s: %w", p, err)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}
