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
//   - Default: Kubernetes' defaulting of v1 objects (defaults_<group>.go).
//   - PrepareForCreate, PrepareForUpdate and PrepareForStatusUpdate: the
//     bookkeeping of uid, creationTimestamp and generation, and what
//     Kubernetes' registry strategies do per kind (a Pod starts Pending, a
//     Service keeps its allocated cluster IP across a PUT …) (strategy.go,
//     prepare.go).
//   - Validate and ValidateUpdate: Kubernetes' validation with field paths
//     and Kubernetes' wording, so that a 422 reads as it would from
//     kube-apiserver (validation_<concept>.go).
//   - SelectableFields: the fields a field selector may name per kind
//     (fields.go).
//
// # Callers' duties
//
// On create, call Default, PrepareForCreate, then Validate; on update,
// Default, PrepareForUpdate (or PrepareForStatusUpdate for the status
// subresource), then ValidateUpdate with the stored object. Validation
// expects defaulted objects: it reports a missing restartPolicy or
// imagePullPolicy as Required, as Kubernetes would after its own
// defaulting.
//
// # Where navarch differs from Kubernetes
//
// The rules are ported from Kubernetes' pkg/apis/*/validation and
// pkg/apis/*/v1 defaults (we do not import k8s.io/kubernetes), with these
// deliberate differences:
//
//   - The cluster is single-stack IPv4 (ClusterIPFamily): Default fills a
//     Service's ipFamilies and ipFamilyPolicy as Kubernetes' allocator does
//     on such a cluster, and Validate rejects RequireDualStack and IPv6
//     families with the allocator's messages. Node ports must lie in
//     NodePortMin–NodePortMax, checked here rather than by an allocator.
//   - Volume mount paths must be absolute and terminationGracePeriodSeconds
//     non-negative; Kubernetes leaves the first to the runtime and mutates
//     the second.
//   - An update may set a Pod's spec.nodeName while it is empty (as a
//     binding does); once set it may not change.
//   - Events in core/v1 also get the usual metadata checks.
//
// The package imports nothing else of navarch's and does no I/O; its
// functions are pure apart from the clock and uid generation in
// PrepareForCreate.
package api
