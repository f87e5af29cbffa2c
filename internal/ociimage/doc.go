// Package ociimage builds small container images from static Go programs
// without Docker or a registry: it compiles a main package with
// CGO_ENABLED=0, lays the binary over a minimal root file system (an
// /etc/passwd, an /etc/group and a /tmp) with go-containerregistry, and
// writes the image as an OCI layout tar or a docker archive, the two forms
// `navarch image import` and containerd accept.
//
// Callers: internal/testimage (the runtime tests' image) and
// internal/exampleapp (the quickstart's example application). It needs the
// go command on PATH to compile.
package ociimage
