// Package printers turns API objects into the server-side tables that
// `kubectl get` asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//
// ToTable is its one entry point. It takes a single typed object or a typed
// list (anything meta.ExtractList understands) and returns a *metav1.Table
// with Kubernetes' own column definitions for the kind — the same names,
// types, formats and priorities kube-apiserver serves — and one row per
// object. As in kube-apiserver every column is always filled; columns of
// priority 1 are the ones kubectl shows only with `-o wide`.
//
// Kinds with their own columns: pods, deployments, replicasets, nodes,
// services, namespaces, endpoints, endpointslices, configmaps, secrets,
// events, leases, serviceaccounts and gitops.navarch.dev sources. Any other
// kind gets NAME and AGE.
//
// Each row carries its object as kube-apiserver's table handler does:
// PartialObjectMetadata by default (metav1.IncludeMetadata), the whole object
// with apiVersion and kind set for metav1.IncludeObject, nothing for
// metav1.IncludeNone. A table built from a list keeps the list's
// resourceVersion, continue token and remaining item count; a table of one
// object keeps the object's resourceVersion.
//
// The package is pure: ages are computed against TableOptions.Now, it does no
// I/O and it never modifies the objects it is given. Its caller is the API
// server's GET, LIST and WATCH handlers, which decide from the Accept header
// and the includeObject query parameter whether and how to call ToTable.
package printers
