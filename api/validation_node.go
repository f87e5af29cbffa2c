package api

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Node and Namespace validation, ported from Kubernetes' ValidateNode,
// ValidateNodeUpdate and ValidateNamespace.

func validateNode(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateTaints(n.Spec.Taints, field.NewPath("spec", "taints"))...)
	errs = append(errs, validateNodeResources(n)...)
	cidrsPath := field.NewPath("spec", "podCIDRs")
	for i, c := range n.Spec.PodCIDRs {
		errs = append(errs, validation.IsValidCIDR(cidrsPath.Index(i), c)...)
	}
	if len(n.Spec.PodCIDRs) > 1 {
		seen := map[string]bool{}
		families := map[corev1.IPFamily]bool{}
		for i, c := range n.Spec.PodCIDRs {
			if seen[c] {
				errs = append(errs, field.Duplicate(cidrsPath.Index(i), c))
			}
			seen[c] = true
			families[cidrFamily(c)] = true
		}
		if len(n.Spec.PodCIDRs) > 2 || len(families) != len(n.Spec.PodCIDRs) {
			errs = append(errs, field.Invalid(cidrsPath, n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
		}
	}
	if n.Spec.PodCIDR != "" && len(n.Spec.PodCIDRs) > 0 && n.Spec.PodCIDR != n.Spec.PodCIDRs[0] {
		errs = append(errs, field.Invalid(field.NewPath("spec", "podCIDR"), n.Spec.PodCIDR, "must match the first element of `podCIDRs`"))
	}
	return errs
}

func cidrFamily(cidr string) corev1.IPFamily {
	ip := cidr
	for i := range cidr {
		if cidr[i] == '/' {
			ip = cidr[:i]
			break
		}
	}
	return ipFamilyOf(ip)
}

// validateNodeResources checks the capacity and allocatable quantities a
// kubelet reports.
func validateNodeResources(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for _, list := range []struct {
		name string
		l    corev1.ResourceList
	}{{"capacity", n.Status.Capacity}, {"allocatable", n.Status.Allocatable}} {
		for _, name := range sortedResourceNames(list.l) {
			errs = append(errs, validateResourceQuantityValue(name, list.l[name], field.NewPath("status", list.name, string(name)))...)
		}
	}
	return errs
}

// validateNodeUpdate: podCIDRs and providerID may be set once, from empty.
func validateNodeUpdate(n, old *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.NodeAddress]bool{}
	for i, a := range n.Status.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), a))
		}
		seen[a] = true
	}
	if len(old.Spec.PodCIDRs) > 0 && !slices.Equal(old.Spec.PodCIDRs, n.Spec.PodCIDRs) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != n.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	if n.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return errs
}

func validateNamespace(ns *corev1.Namespace) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("spec", "finalizers")
	for _, f := range ns.Spec.Finalizers {
		errs = append(errs, apivalidation.ValidateFinalizerName(string(f), path)...)
		errs = append(errs, validateKubeFinalizerName(string(f), path)...)
	}
	return errs
}
