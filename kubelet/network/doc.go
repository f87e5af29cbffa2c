// Package network gives each pod of a node one IP: it creates a network
// namespace per pod (pinned by a bind mount under the data dir) and wires it
// with CNI through libcni — the standard bridge plugin with host-local IPAM
// over the node's podCIDR, portmap for hostPorts, and loopback.
//
// Everything it keeps on disk lives under Options.DataDir (CNI result
// cache, host-local allocations, pinned namespaces), never in /var/lib/cni,
// and the bridge name is configurable, so two agents can share a machine
// when they are given different bridges and CIDRs.
//
// Callers (the containerd runtime) pair CreateNetNS+Setup with
// Teardown+RemoveNetNS; Teardown is idempotent and releases the IP even
// when the namespace is gone. The node must be root and have the plugins
// (RequiredPlugins) in one of Options.PluginDirs.
package network
