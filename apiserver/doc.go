// Package apiserver is navarch's Kubernetes-compatible API server: REST and
// JSON over the store, as real kubectl and client-go expect it, built on
// net/http and apimachinery (not k8s.io/apiserver).
//
// # What it serves
//
// Resources under /api/v1 and /apis/<group>/<version> (the table in package
// api), namespaced (/namespaces/<ns>/<resource>[/<name>[/<sub>]]) and
// cluster-scoped, with lists and watches across all namespaces:
//
//   - get, list (label and field selectors, limit/continue,
//     resourceVersion, resourceVersionMatch), watch (?watch=true or the
//     legacy /watch/ prefix; streaming lists with sendInitialEvents),
//   - create (generateName), update, patch (JSON patch, merge patch,
//     strategic merge patch, server-side apply with managedFields over
//     structured-merge-diff), delete (propagation policies as the garbage
//     collector's finalizers, finalizers, graceful pod deletion,
//     preconditions), deletecollection,
//   - subresources status, scale (autoscaling/v1 Scale), pods/binding and
//     namespaces/finalize; pods/log and pods/exec (EnablePodLogs,
//     EnablePodExec) proxied to the kubelet API of the pod's node,
//   - dryRun=All and fieldValidation=Strict|Warn|Ignore on every write.
//
// Around them: discovery (/api, /apis, aggregated discovery v2, /version),
// Tables for kubectl get (also on watches), PartialObjectMetadata for
// metadata clients, the OpenAPI v3 documents kubectl validates with
// (package openapi, built on first request), /healthz, /livez, /readyz,
// /metrics, and whatever is mounted with Handle and HandleAuthenticated.
//
// # A write, step by step
//
// decode (JSON, YAML or protobuf; unknown fields per fieldValidation) →
// authorize → api.Default → api.PrepareForCreate / PrepareForUpdate /
// PrepareForStatusUpdate → api.Validate / ValidateUpdate (422 with every
// cause) → on create, namespace lifecycle (404 missing, 403 terminating)
// → a Service's cluster IP and node ports, planned by package alloc (422
// for a requested value taken or out of range) → managed fields → store
// (409 on a stale resourceVersion or an existing name), in one etcd
// transaction with the Service's allocation keys, so that several servers
// on one etcd never hand out one value twice; deleting a Service releases
// its keys in the same way. Run repairs the allocation keys at start and
// every Options.AllocationRepairInterval. Errors are always metav1.Status
// objects with Kubernetes' reason and code. Admit offers the same steps to
// writers inside the process (the reconciler), returning the store
// operations for their own transaction.
//
// # Seams
//
// The store (package store) holds the objects; package api the types,
// defaults and validation; package auth the PKI, tokens and the
// authorization rules; package printers the Tables. The server checks
// itself what needs a stored object: a node may write the status of, and
// delete, only pods bound to it.
//
// # Callers
//
// cmd/navarch builds the store (passing NewMetrics' value as
// store.Options.Metrics), then New and Run; it writes the admin kubeconfig
// with WriteKubeconfig, and gives the reconciler Admit. Tests start a whole
// server with internal/testserver.
package apiserver
