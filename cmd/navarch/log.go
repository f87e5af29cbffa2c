package main

import (
	"io"
	"log/slog"

	"github.com/navarch/navarch/config"
)

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
