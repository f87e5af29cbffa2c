// Package e2e holds navarch's end-to-end tests: they do what the README
// tells a new user to do, through the quickstart script (hack/run.sh), the
// git command and the built navarch binary only, on this machine's real
// containerd, runc, CNI plugins and nftables.
//
// The tests run only when NAVARCH_E2E=1 (`make test-e2e` sets it, and
// `make test` runs them when CI=true); a plain `go test ./...` skips them.
// They need root and containerd, runc, nft, ip, git, curl and openssl on
// PATH; a missing one skips the test, or fails it when CI=true.
//
// Every test keeps what it makes apart from the machine's own navarch and
// from other tests: a data dir under /tmp with a unique suffix (its own
// containerd, etcd and kubeconfig), free TCP ports, node, bridge and
// nftables table names, and a Service range and a pod range of its own
// (--cluster-cidr: a /20 of 10.208.0.0/12 that no route on the machine
// overlaps). When the test ends it stops each process it started by PID,
// ends the containers those processes left behind, and removes the
// bridges, network namespaces, nftables tables, routes and mounts it made.
// NodePorts come from navarch's default range, so two end-to-end tests
// running at once may (rarely) be given the same one.
//
// NAVARCH_BIN names a navarch binary to test (make test-e2e passes
// bin/navarch); without it the test builds one. NAVARCH_E2E_KEEP=1 keeps
// the data dir (logs included) of a failed test for a look afterwards.
package e2e
