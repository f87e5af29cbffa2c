// Package runtimetest is the conformance suite every kubelet.Runtime must
// pass: Run(t, newRuntime) drives images (import, each pull policy, pull
// errors with the registry's message), sandboxes (run, list, stop,
// remove), containers (create, start, status, stop with grace, remove,
// exit codes and reasons, logs), exec and listing by labels for adoption.
//
// The suite builds the test image (internal/testimage) once, serves it
// from an in-process registry on 127.0.0.1 and expects the runtime to run
// its program: really (containerd) or simulated with testimage.Describe
// (memruntime). Cases that need real processes or a real pod network run
// only for runtimes whose Capabilities say so.
package runtimetest
