// Package api holds the resource types navarch serves and the rules that
// apply to them before they are stored.
//
// The types are Kubernetes' own (k8s.io/api) plus navarch's
// gitops.navarch.dev/v1alpha1 kinds (package api/gitops/v1alpha1). This
// package adds what a Kubernetes API server adds around those types:
//
//   - Scheme and Codecs: every served kind registered for encoding and
//     decoding, with the wire format Kubernetes clients expect.
//   - Resources: the table of served resources (group, version, plural,
//     kind, scope, short names, subresources), which drives discovery, REST
//     routing, OpenAPI and storage keys.
//   - Default, Validate, ValidateUpdate, PrepareForCreate and
//     PrepareForUpdate: Kubernetes' defaulting, validation with field paths,
//     and the bookkeeping of uid, creationTimestamp and generation.
//   - SelectableFields: the fields a field selector may name per kind.
//
// Callers are the API server (on every write), the reconciler (on every
// object of a revision, before its one transaction) and the CLI. The package
// imports nothing else of navarch's and does no I/O; its functions are pure
// apart from the clock and uid generation in PrepareForCreate.
package api
