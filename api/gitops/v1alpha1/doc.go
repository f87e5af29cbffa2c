// Package v1alpha1 holds navarch's GitOps kinds in the group
// gitops.navarch.dev, version v1alpha1: Source, the Git repository or local
// directory whose manifests become a part of the cluster's desired state.
//
// +groupName=gitops.navarch.dev
// +kubebuilder:object:generate=true
package v1alpha1
