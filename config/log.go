package config

import (
	"fmt"
	"log/slog"
)

// Log configures the structured log written to standard error.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level"`
	// Format is text (logfmt-like key=value) or json.
	Format string `mapstructure:"format"`
}

// SlogLevel returns Level as a slog.Level; it fails on an unknown level.
func (l Log) SlogLevel() (slog.Level, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("log.level: want debug, info, warn or error, got %q", l.Level)
	}
	return lvl, nil
}

// Validate reports an unknown level or format.
func (l Log) Validate() error {
	if _, err := l.SlogLevel(); err != nil {
		return err
	}
	if l.Format != "text" && l.Format != "json" {
		return fmt.Errorf("log.format: want text or json, got %q", l.Format)
	}
	return nil
}
