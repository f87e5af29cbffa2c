package api

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestValidateService(t *testing.T) {
	// redefault re-runs defaulting after a mutation that defaults depend on.
	redefault := func(f func(*corev1.Service)) func(*corev1.Service) {
		return func(s *corev1.Service) {
			f(s)
			s.Spec.IPFamilies, s.Spec.IPFamilyPolicy, s.Spec.ClusterIPs = nil, nil, nil
			Default(s)
		}
	}
	runValidationCases(t, validService, []validationCase[*corev1.Service]{
		{name: "a defaulted service is valid"},
		{name: "a headless service needs no ports", mutate: redefault(func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.Ports = "None", nil })},
		{name: "service names are DNS-1035 labels", mutate: func(s *corev1.Service) { s.Name = "1web" },
			want: []string{`metadata.name: Invalid value: "1web": a DNS-1035 label must consist of`}},
		{name: "ports are required", mutate: func(s *corev1.Service) { s.Spec.Ports = nil },
			want: []string{"spec.ports: Required value"}},
		{name: "ports are named when there are several", mutate: func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80), Protocol: "TCP"}, {Port: 443, TargetPort: intstr.FromInt32(443), Protocol: "TCP"}}
		}, want: []string{"spec.ports[0].name: Required value", "spec.ports[1].name: Required value"}},
		{name: "port names are unique", mutate: func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "http", Port: 8080, TargetPort: intstr.FromInt32(8080), Protocol: "TCP"})
		}, want: []string{`spec.ports[1].name: Duplicate value: "http"`}},
		{name: "ports are 1-65535", mutate: func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 },
			want: []string{"spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"}},
		{name: "target ports are 1-65535 or names", mutate: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("http_web") },
			want: []string{`spec.ports[0].targetPort: Invalid value: "http_web"`}},
		{name: "the same port twice", mutate: func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "alt", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: "TCP"})
		}, want: []string{`spec.ports[1]: Duplicate value: {"protocol":"TCP","port":80,"targetPort":0}`}},
		{name: "a ClusterIP service has no node ports", mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			want: []string{"spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"}},
		{name: "node ports are in 30000-32767", mutate: redefault(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = 8080
		}), want: []string{"spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767"}},
		{name: "a NodePort service with a node port in range is valid", mutate: redefault(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = 30080
		})},
		{name: "the type is one of four", mutate: func(s *corev1.Service) { s.Spec.Type = "Internal" },
			want: []string{`spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`}},
		{name: "a cluster IP is an IP address", mutate: redefault(func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.300" }),
			want: []string{`spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address`}},
		{name: "a given IPv4 cluster IP is valid", mutate: redefault(func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.10" })},
		{name: "clusterIP and clusterIPs agree", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.11"}
		}, want: []string{`spec.clusterIPs: Invalid value: ["10.96.0.11"]: first value must match ` + "`clusterIP`"}},
		{name: "a NodePort service is not headless", mutate: redefault(func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ClusterIP = corev1.ServiceTypeNodePort, "None"
		}), want: []string{`spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services`}},
		{name: "sessionAffinity is ClientIP or None", mutate: func(s *corev1.Service) { s.Spec.SessionAffinity = "Sticky" },
			want: []string{`spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"`}},
		{name: "the selector holds labels", mutate: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "web/api"} },
			want: []string{`spec.selector: Invalid value: "web/api": a valid label must be`}},
		{name: "an ExternalName service names a host", mutate: func(s *corev1.Service) {
			s.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, SessionAffinity: "None"}
		}, want: []string{"spec.externalName: Required value"}},
		{name: "externalTrafficPolicy is for externally reachable services", mutate: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}, want: []string{`spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services`}},
		{name: "the cluster is not dual-stack", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyRequireDualStack)
		}, want: []string{`spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`}},
		{name: "the cluster does not serve IPv6", mutate: redefault(func(s *corev1.Service) { s.Spec.ClusterIP = "fd00::10" }),
			want: []string{`spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster`}},
		{name: "external IPs are not loopback", mutate: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"127.0.0.1"} },
			want: []string{`spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range`,
				// With external IPs a ClusterIP service is reachable from outside.
				"spec.externalTrafficPolicy: Required value"}},
	})
}
