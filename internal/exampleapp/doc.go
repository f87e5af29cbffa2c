// Package exampleapp builds the images of navarch's example application,
// the program in ./hello, for the quickstart (`make run`) and the
// end-to-end tests. No registry is needed: the images are written as OCI
// archives that `navarch image import` loads into a node's containerd.
//
// The images, all named under Repository ("localhost/hello", so that an
// accidental pull can only reach this machine):
//
//	localhost/hello:v1      reports version v1
//	localhost/hello:v2      reports version v2
//	localhost/hello:broken  exits at once ("cannot start: listen tcp:
//	                        address 99999: invalid port"), for rollbacks
//
// They share one compiled program; the version is set in each image's
// environment (HELLO_VERSION) and the broken image's command carries the
// bad listen address, as a mistyped release would.
//
// Callers: internal/cmd/exampleimages (run by hack/run.sh) and test/e2e.
// It needs the go command on PATH to compile the program.
package exampleapp
