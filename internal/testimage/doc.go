// Package testimage builds navarch's test container image without a
// registry or Docker: the static Go program in ./testapp (compiled once per
// test binary, cached by source hash), wrapped by internal/ociimage into
// an image (entrypoint /testapp), written as a docker archive or an OCI
// layout tar for import, or pushed to an in-process registry on 127.0.0.1
// for pull tests.
//
// testapp's subcommands (serve, sleep, exit, crash-after, ignore-sigterm,
// connect, echo, …) are listed in testapp/main.go; Describe tells runtimes
// that only simulate processes what a command line would do.
//
// Callers: tests of kubelet runtimes and end-to-end tests. It needs the go
// command on PATH.
package testimage
