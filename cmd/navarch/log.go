package main

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/navarch/navarch/config"
)

// loadConfig is how every serving command starts: its configuration from
// defaults, file, environment and cmd's flags, and the logger to
// streams.ErrOut that the configuration asks for, which klog's lines go
// through too.
func loadConfig(cmd *cobra.Command, streams genericiooptions.IOStreams) (*config.Config, *slog.Logger, error) {
	cfg, err := config.Load(cmd.Flags())
	if err != nil {
		return nil, nil, err
	}
	logger, err := newLogger(cfg.Log, streams.ErrOut)
	if err != nil {
		return nil, nil, err
	}
	level, _ := cfg.Log.SlogLevel() // newLogger checked it
	routeKlog(logger, level)
	return cfg, logger, nil
}

// newLogger returns the process's logger, writing to w in the format and
// from the level c asks for.
func newLogger(c config.Log, w io.Writer) (*slog.Logger, error) {
	level, err := c.SlogLevel()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
