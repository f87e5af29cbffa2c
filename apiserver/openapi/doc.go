// Package openapi describes the served API as OpenAPI v3 documents, one per
// group-version, built from the Go types by reflection, and serves them as
// kube-apiserver does at /openapi/v3.
//
// Real clients depend on these documents. `kubectl apply` looks up the
// PATCH operation tagged with the object's x-kubernetes-group-version-kind
// to learn that the server validates fields itself (the fieldValidation
// query parameter) — without it kubectl downloads /openapi/v2, which is not
// served, and fails. Client-side apply then computes its strategic merge
// patch from the component schema tagged with the kind, so every list
// carries the x-kubernetes-patch-strategy and x-kubernetes-patch-merge-key
// of the Go struct tags (containers merge by name, ports by containerPort).
// `kubectl explain` reads descriptions and types from the same documents.
//
// What the documents hold:
//
//   - Components named as Kubernetes names them ("io.k8s.api.core.v1.Pod",
//     "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"; navarch's kinds
//     after their group, "dev.navarch.gitops.v1alpha1.Source"), referenced
//     with $ref (in allOf where a description sits beside it). Kinds and
//     their lists carry x-kubernetes-group-version-kind.
//   - Types with a wire form of their own: Quantity (string or number),
//     IntOrString, Time and MicroTime (date-time strings), Duration
//     (string), RawExtension and FieldsV1 (objects), []byte (format byte).
//   - x-kubernetes-list-type, -list-map-keys and -map-type and the required
//     fields, read from the types' comment markers. Reflection cannot see
//     comments, so they are generated into zz_generated.markers.go, together
//     with descriptions for types without SwaggerDoc methods; the tests
//     regenerate that file and fail when it is stale
//     (go test -run TestGeneratedMarkersAreUpToDate -update).
//   - For each resource: list, create and deletecollection on the
//     collection, get, put, patch and delete on the item, list across
//     namespaces for namespaced resources, and its subresources (status,
//     scale, binding, log, finalize), each operation with kube-apiserver's
//     query parameters (dryRun, fieldManager, fieldValidation, force …),
//     inline, since kubectl only looks there. Every PATCH accepts JSON
//     patch, merge patch, strategic merge patch and apply patch, for
//     navarch's kinds too: they are Go types, so the server can apply
//     strategic merge patches to them.
//
// Documents builds every document once, as JSON; Handler serves them with
// the discovery index, hashes, ETags and cache headers. Schemas returns all
// component schemas in the form managedfields.NewTypeConverter takes, for
// server-side apply. /openapi/v2 is not served: kubectl v1.37 reads v3 and
// only falls back to v2 when v3 is missing.
//
// The package is pure and does no I/O apart from Handler's responses. Its
// caller is the API server, which builds the documents at start from
// api.Resources() and mounts Handler at /openapi/v3 and /openapi/v3/.
package openapi
