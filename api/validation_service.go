package api

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Service validation, ported from Kubernetes' ValidateService and
// ValidateServiceUpdate, with the checks its allocators make (node port
// range, IP families configured) for navarch's single-stack IPv4 cluster.

// The range node ports are allocated from, as Kubernetes' default.
const (
	NodePortMin = 30000
	NodePortMax = 32767
)

// maxClientIPServiceAffinitySeconds is the longest ClientIP session
// affinity, one day.
const maxClientIPServiceAffinitySeconds = 86400

var (
	serviceTypes = []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName,
		corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort}
	sessionAffinities = []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}
)

func isHeadless(svc *corev1.Service) bool {
	if len(svc.Spec.ClusterIPs) > 0 {
		return len(svc.Spec.ClusterIPs) == 1 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone
	}
	return svc.Spec.ClusterIP == corev1.ClusterIPNone
}

func validateService(svc *corev1.Service) field.ErrorList {
	spec, path := &svc.Spec, field.NewPath("spec")
	var errs field.ErrorList
	if len(spec.Ports) == 0 && !isHeadless(svc) && spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(path.Child("ports"), ""))
	}
	errs = append(errs, validateServiceTypeFields(svc, path)...)
	names := map[string]bool{}
	for i := range spec.Ports {
		errs = append(errs, validateServicePort(&spec.Ports[i], len(spec.Ports) > 1, names, path.Child("ports").Index(i))...)
	}
	if spec.Selector != nil {
		errs = append(errs, validateLabels(spec.Selector, path.Child("selector"))...)
	}
	errs = appendIf(errs, enumError(spec.SessionAffinity, path.Child("sessionAffinity"), sessionAffinities...))
	errs = append(errs, validateSessionAffinityConfig(spec, path.Child("sessionAffinityConfig"))...)
	errs = append(errs, validateServiceClusterIPs(svc)...)
	for i, ip := range spec.ExternalIPs {
		p := path.Child("externalIPs").Index(i)
		if e := validation.IsValidIP(p, ip); len(e) > 0 {
			errs = append(errs, e...)
		} else {
			errs = append(errs, validateNonSpecialIP(ip, p)...)
		}
	}
	errs = appendIf(errs, enumError(spec.Type, path.Child("type"), serviceTypes...))
	errs = append(errs, validateServiceNodePorts(svc, path.Child("ports"))...)
	errs = append(errs, validateServicePortsUnique(spec.Ports, path.Child("ports"))...)
	if len(spec.LoadBalancerSourceRanges) > 0 {
		p := path.Child("LoadBalancerSourceRanges")
		if spec.Type != corev1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		for i, r := range spec.LoadBalancerSourceRanges {
			errs = append(errs, validation.IsValidCIDR(p.Index(i), strings.TrimSpace(r))...)
		}
	}
	if spec.AllocateLoadBalancerNodePorts != nil && spec.Type != corev1.ServiceTypeLoadBalancer {
		errs = append(errs, field.Forbidden(path.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.AllocateLoadBalancerNodePorts == nil {
		errs = append(errs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}
	errs = append(errs, validateServiceTrafficPolicies(svc, path)...)
	return errs
}

// validateServiceTypeFields checks what a Service's type requires or forbids.
func validateServiceTypeFields(svc *corev1.Service, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	switch spec.Type {
	case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
		if isHeadless(svc) {
			errs = append(errs, field.Invalid(path.Child("clusterIPs").Index(0), corev1.ClusterIPNone,
				fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
		}
	case corev1.ServiceTypeExternalName:
		if len(spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(path.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(path.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(path.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname != "" {
			errs = append(errs, validateDNS1123Subdomain(cname, path.Child("externalName"))...)
		} else {
			errs = append(errs, field.Required(path.Child("externalName"), ""))
		}
	}
	return errs
}

func validateServicePort(sp *corev1.ServicePort, requireName bool, names map[string]bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && sp.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else if sp.Name != "" {
		errs = append(errs, validateDNS1123Label(sp.Name, path.Child("name"))...)
		if names[sp.Name] {
			errs = append(errs, field.Duplicate(path.Child("name"), sp.Name))
		}
		names[sp.Name] = true
	}
	for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
		errs = append(errs, field.Invalid(path.Child("port"), sp.Port, msg))
	}
	errs = appendIf(errs, enumError(sp.Protocol, path.Child("protocol"), portProtocols...))
	errs = append(errs, validatePortNumOrName(sp.TargetPort, path.Child("targetPort"))...)
	if sp.AppProtocol != nil {
		errs = append(errs, validateQualifiedName(*sp.AppProtocol, path.Child("appProtocol"))...)
	}
	return errs
}

func validateSessionAffinityConfig(spec *corev1.ServiceSpec, path *field.Path) field.ErrorList {
	switch spec.SessionAffinity {
	case corev1.ServiceAffinityClientIP:
		c := spec.SessionAffinityConfig
		when := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
		switch {
		case c == nil:
			return field.ErrorList{field.Required(path, when)}
		case c.ClientIP == nil:
			return field.ErrorList{field.Required(path.Child("clientIP"), when)}
		case c.ClientIP.TimeoutSeconds == nil:
			return field.ErrorList{field.Required(path.Child("clientIP", "timeoutSeconds"), when)}
		case *c.ClientIP.TimeoutSeconds <= 0 || *c.ClientIP.TimeoutSeconds > maxClientIPServiceAffinitySeconds:
			return field.ErrorList{field.Invalid(path.Child("clientIP", "timeoutSeconds"), *c.ClientIP.TimeoutSeconds,
				fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPServiceAffinitySeconds))}
		}
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			return field.ErrorList{field.Forbidden(path, fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone))}
		}
	}
	return nil
}

// validateServiceNodePorts forbids node ports on ClusterIP services and
// requires them in navarch's node port range.
func validateServiceNodePorts(svc *corev1.Service, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, p := range svc.Spec.Ports {
		if p.NodePort == 0 {
			continue
		}
		pp := path.Index(i).Child("nodePort")
		if svc.Spec.Type == corev1.ServiceTypeClusterIP {
			errs = append(errs, field.Forbidden(pp, "may not be used when `type` is 'ClusterIP'"))
		} else if p.NodePort < NodePortMin || p.NodePort > NodePortMax {
			errs = append(errs, field.Invalid(pp, p.NodePort,
				fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", NodePortMin, NodePortMax)))
		}
		key := fmt.Sprintf("%s/%d", p.Protocol, p.NodePort)
		if seen[key] {
			errs = append(errs, field.Duplicate(pp, p.NodePort))
		}
		seen[key] = true
	}
	return errs
}

// validateServicePortsUnique rejects two ports with the same protocol and
// port number.
func validateServicePortsUnique(ports []corev1.ServicePort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.ServicePort]bool{}
	for i, p := range ports {
		key := corev1.ServicePort{Protocol: p.Protocol, Port: p.Port}
		if seen[key] {
			errs = append(errs, field.Duplicate(path.Index(i), key))
		}
		seen[key] = true
	}
	return errs
}

func validateServiceTrafficPolicies(svc *corev1.Service, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	spec := &svc.Spec
	if !externallyAccessible(svc) {
		if spec.ExternalTrafficPolicy != "" {
			errs = append(errs, field.Invalid(path.Child("externalTrafficPolicy"), spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
		}
	} else {
		errs = appendIf(errs, enumError(spec.ExternalTrafficPolicy, path.Child("externalTrafficPolicy"),
			corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal))
	}
	if !needsHealthCheck(svc) {
		if spec.HealthCheckNodePort != 0 {
			errs = append(errs, field.Invalid(path.Child("healthCheckNodePort"), spec.HealthCheckNodePort,
				"may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		}
	} else if spec.HealthCheckNodePort != 0 {
		for _, msg := range validation.IsValidPortNum(int(spec.HealthCheckNodePort)) {
			errs = append(errs, field.Invalid(path.Child("healthCheckNodePort"), spec.HealthCheckNodePort, msg))
		}
	}
	if spec.InternalTrafficPolicy == nil {
		if t := spec.Type; t == corev1.ServiceTypeClusterIP || t == corev1.ServiceTypeNodePort || t == corev1.ServiceTypeLoadBalancer {
			errs = append(errs, field.Required(path.Child("internalTrafficPolicy"), ""))
		}
	} else {
		errs = appendIf(errs, oneOf(*spec.InternalTrafficPolicy, path.Child("internalTrafficPolicy"),
			corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal))
	}
	if td := spec.TrafficDistribution; td != nil {
		errs = appendIf(errs, oneOf(*td, path.Child("trafficDistribution"), corev1.ServiceTrafficDistributionPreferClose,
			corev1.ServiceTrafficDistributionPreferSameZone, corev1.ServiceTrafficDistributionPreferSameNode))
	}
	return errs
}

// validateServiceClusterIPs checks clusterIP, clusterIPs, ipFamilies and
// ipFamilyPolicy together, and that the families are served.
func validateServiceClusterIPs(svc *corev1.Service) field.ErrorList {
	spec := &svc.Spec
	if spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var errs field.ErrorList
	path := field.NewPath("spec")
	ipsPath, famPath, policyPath := path.Child("clusterIPs"), path.Child("ipFamilies"), path.Child("ipFamilyPolicy")
	if spec.ClusterIP != "" {
		if len(spec.ClusterIPs) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if spec.ClusterIPs[0] != spec.ClusterIP {
			errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(spec.ClusterIPs) != 0 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	seen := map[corev1.IPFamily]bool{}
	for i, f := range spec.IPFamilies {
		errs = appendIf(errs, oneOf(f, famPath.Index(i), corev1.IPv4Protocol, corev1.IPv6Protocol))
		if seen[f] {
			errs = append(errs, field.Duplicate(famPath.Index(i), f))
		}
		seen[f] = true
	}
	if p := spec.IPFamilyPolicy; p != nil {
		errs = appendIf(errs, oneOf(*p, policyPath, corev1.IPFamilyPolicyPreferDualStack,
			corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack))
	}
	invalidIPs := false
	for i, ip := range spec.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(spec.ClusterIPs) > 1 {
				invalidIPs = true
				errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		e := validation.IsValidIP(ipsPath.Index(i), ip)
		invalidIPs = invalidIPs || len(e) > 0
		errs = append(errs, e...)
	}
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may only hold up to 2 values"))
	}
	if invalidIPs {
		return errs
	}
	if len(spec.ClusterIPs) == 2 && ipFamilyOf(spec.ClusterIPs[0]) == ipFamilyOf(spec.ClusterIPs[1]) {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may specify no more than one IP for each IP family"))
	}
	if !isHeadless(svc) {
		for i, ip := range spec.ClusterIPs {
			if i < len(spec.IPFamilies) && ipFamilyOf(ip) != spec.IPFamilies[i] {
				errs = append(errs, field.Invalid(ipsPath.Index(i), ip,
					fmt.Sprintf("expected an %s value as indicated by `ipFamilies[%v]`", spec.IPFamilies[i], i)))
			}
		}
	}
	return append(errs, validateServiceFamiliesServed(svc, policyPath, famPath)...)
}

// validateServiceFamiliesServed rejects what navarch's single-stack IPv4
// Service network cannot allocate, with the messages of Kubernetes'
// allocator; a headless Service without selector allocates nothing and may
// name both families.
func validateServiceFamiliesServed(svc *corev1.Service, policyPath, famPath *field.Path) field.ErrorList {
	spec := &svc.Spec
	if isHeadless(svc) && len(spec.Selector) == 0 {
		return nil
	}
	var errs field.ErrorList
	if p := spec.IPFamilyPolicy; p != nil && *p == corev1.IPFamilyPolicyRequireDualStack {
		errs = append(errs, field.Invalid(policyPath, *p, "this cluster is not configured for dual-stack services"))
	}
	for i, f := range spec.IPFamilies {
		if f != ClusterIPFamily && (f == corev1.IPv4Protocol || f == corev1.IPv6Protocol) {
			errs = append(errs, field.Invalid(famPath.Index(i), f, "not configured on this cluster"))
		}
	}
	return errs
}

// validateNonSpecialIP rejects unspecified, loopback and link-local
// addresses, which make no sense as endpoints or external IPs.
func validateNonSpecialIP(s string, path *field.Path) field.ErrorList {
	ip := net.ParseIP(s)
	if ip == nil {
		return field.ErrorList{field.Invalid(path, s, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(path, s, fmt.Sprintf("may not be unspecified (%v)", s)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(path, s, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(path, s, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(path, s, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// validateServiceUpdate checks what may not change on a Service: its
// cluster IPs once allocated and its IP families (unless it becomes or stops
// being headless or ExternalName), and its health-check node port.
func validateServiceUpdate(svc, old *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	ipsPath := field.NewPath("spec", "clusterIPs")
	if !(isHeadless(svc) && isHeadless(old)) {
		newIPs, oldIPs := svc.Spec.ClusterIPs, old.Spec.ClusterIPs
		switch {
		case len(newIPs) == len(oldIPs):
			for i := range oldIPs {
				if oldIPs[i] != newIPs[i] {
					errs = append(errs, field.Invalid(ipsPath.Index(i), newIPs, "may not change once set"))
				}
			}
		case len(newIPs) < len(oldIPs):
			if len(newIPs) == 0 {
				errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "primary clusterIP can not be unset"))
			} else if newIPs[0] != oldIPs[0] {
				errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
			}
		case len(oldIPs) > 0 && newIPs[0] != oldIPs[0]:
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
		}
	}
	if isHeadless(svc) == isHeadless(old) && !isHeadless(svc) {
		famPath := field.NewPath("spec", "ipFamilies")
		nf, of := svc.Spec.IPFamilies, old.Spec.IPFamilies
		if len(nf) > 0 && len(of) > 0 && nf[0] != of[0] {
			errs = append(errs, field.Invalid(famPath.Index(0), nf, "may not change once set"))
		}
	}
	if needsHealthCheck(svc) && needsHealthCheck(old) && svc.Spec.HealthCheckNodePort != old.Spec.HealthCheckNodePort {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "healthCheckNodePort"), "field is immutable"))
	}
	return errs
}
