package controllers

import "context"

func (m *Manager) setUpNodeLifecycle() error                       { return nil }
func (m *Manager) setUpTaintEviction() error                       { return nil }
func (m *Manager) setUpEndpoints() error                           { return nil }
func (m *Manager) setUpEndpointSlices() error                      { return nil }
func (m *Manager) setUpNamespaces() error                          { return nil }
func (m *Manager) setUpGarbageCollector(ctx context.Context) error { return nil }
func (m *Manager) setUpPodGC() error                               { return nil }
