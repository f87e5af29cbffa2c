package proxy

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ServiceEnvironment returns the environment variables Kubernetes gives
// containers for services, in the order of services: for each Service with
// a cluster IP (not headless, not ExternalName) and at least one port,
//
//	<NAME>_SERVICE_HOST=<cluster IP>
//	<NAME>_SERVICE_PORT=<first port>
//	<NAME>_SERVICE_PORT_<PORT NAME>=<port>        for each named port
//	<NAME>_PORT=<proto>://<cluster IP>:<first port>
//	<NAME>_PORT_<port>_<PROTO>=<proto>://<cluster IP>:<port>   and its
//	  _PROTO, _PORT and _ADDR parts, for each port
//
// where NAME is the Service's name upper-cased with "-" turned into "_"
// (Docker links' variables, as the kubelet writes them). The kubelet
// passes the Services of the pod's namespace (when the pod's
// enableServiceLinks is not false) and the `kubernetes` Service of the
// default namespace, a Service of the pod's namespace winning over one of
// the same name elsewhere; variables the container sets itself win over
// these.
func ServiceEnvironment(services []*corev1.Service) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, svc := range services {
		ip := svc.Spec.ClusterIP
		if ip == "" || ip == corev1.ClusterIPNone || svc.Spec.Type == corev1.ServiceTypeExternalName || len(svc.Spec.Ports) == 0 {
			continue
		}
		prefix := envName(svc.Name)
		out = append(out,
			corev1.EnvVar{Name: prefix + "_SERVICE_HOST", Value: ip},
			corev1.EnvVar{Name: prefix + "_SERVICE_PORT", Value: strconv.Itoa(int(svc.Spec.Ports[0].Port))})
		for _, p := range svc.Spec.Ports {
			if p.Name != "" {
				out = append(out, corev1.EnvVar{Name: prefix + "_SERVICE_PORT_" + envName(p.Name), Value: strconv.Itoa(int(p.Port))})
			}
		}
		out = append(out, linkVariables(prefix, ip, svc.Spec.Ports)...)
	}
	return out
}

// linkVariables returns the Docker-link style variables of a Service's
// ports.
func linkVariables(prefix, ip string, ports []corev1.ServicePort) []corev1.EnvVar {
	var out []corev1.EnvVar
	for i, p := range ports {
		proto := string(corev1.ProtocolTCP)
		if p.Protocol != "" {
			proto = string(p.Protocol)
		}
		lower := strings.ToLower(proto)
		url := fmt.Sprintf("%s://%s", lower, net.JoinHostPort(ip, strconv.Itoa(int(p.Port))))
		if i == 0 {
			out = append(out, corev1.EnvVar{Name: prefix + "_PORT", Value: url})
		}
		portPrefix := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.Port, strings.ToUpper(proto))
		out = append(out,
			corev1.EnvVar{Name: portPrefix, Value: url},
			corev1.EnvVar{Name: portPrefix + "_PROTO", Value: lower},
			corev1.EnvVar{Name: portPrefix + "_PORT", Value: strconv.Itoa(int(p.Port))},
			corev1.EnvVar{Name: portPrefix + "_ADDR", Value: ip})
	}
	return out
}

// envName turns a Service or port name into a variable name part.
func envName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}
