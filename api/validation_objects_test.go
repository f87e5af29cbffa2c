package api

import (
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestValidateConfigMap(t *testing.T) {
	valid := func() *corev1.ConfigMap {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-config", Namespace: "shop"},
			Data: map[string]string{"nginx.conf": "events {}", "LOG_LEVEL": "info"}}
		Default(cm)
		return cm
	}
	runValidationCases(t, valid, []validationCase[*corev1.ConfigMap]{
		{name: "a configmap with valid keys is valid"},
		{name: "keys are config map keys", mutate: func(cm *corev1.ConfigMap) { cm.Data["conf/nginx"] = "" },
			want: []string{`data[conf/nginx]: Invalid value: "conf/nginx": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`}},
		{name: "a key is in data or binaryData, not both", mutate: func(cm *corev1.ConfigMap) { cm.BinaryData = map[string][]byte{"LOG_LEVEL": {1}} },
			want: []string{`data[LOG_LEVEL]: Invalid value: "LOG_LEVEL": duplicate of key present in binaryData`}},
		{name: "the data is at most 1 MiB", mutate: func(cm *corev1.ConfigMap) { cm.Data["big"] = strings.Repeat("x", MaxConfigSize) },
			// The whole object is too long; Kubernetes renders its empty path "[]".
			want: []string{"[]: Too long: may not be more than 1048576 bytes"}},
	})
}

func TestValidateSecret(t *testing.T) {
	valid := func() *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"}, StringData: map[string]string{"password": "x"}}
		Default(s)
		return s
	}
	runValidationCases(t, valid, []validationCase[*corev1.Secret]{
		{name: "an opaque secret is valid"},
		{name: "keys are config map keys", mutate: func(s *corev1.Secret) { s.Data["a b"] = nil },
			want: []string{`data[a b]: Invalid value: "a b": a valid config key`}},
		{name: "the data is at most 1 MiB", mutate: func(s *corev1.Secret) { s.Data["big"] = make([]byte, MaxConfigSize) },
			want: []string{"data: Too long: may not be more than 1048576 bytes"}},
		{name: "a TLS secret has a certificate and a key", mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeTLS },
			want: []string{"data[tls.crt]: Required value", "data[tls.key]: Required value"}},
		{name: "a docker config secret holds JSON", mutate: func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeDockerConfigJson
			s.Data[corev1.DockerConfigJsonKey] = []byte("{not json")
		}, want: []string{`data[.dockerconfigjson]: Invalid value: "<secret contents redacted>"`}},
		{name: "a basic-auth secret has a username or a password", mutate: func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeBasicAuth
			delete(s.Data, "password")
		}, want: []string{"data[username]: Required value", "data[password]: Required value"}},
		{name: "an ssh-auth secret has a private key", mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeSSHAuth },
			want: []string{"data[ssh-privatekey]: Required value"}},
		{name: "a service account token names its account", mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeServiceAccountToken },
			want: []string{"metadata.annotations[kubernetes.io/service-account.name]: Required value"}},
	})
}

func TestValidateNamespace(t *testing.T) {
	valid := func() *corev1.Namespace {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
		Default(ns)
		return ns
	}
	runValidationCases(t, valid, []validationCase[*corev1.Namespace]{
		{name: "a namespace is valid"},
		{name: "namespace names are DNS labels", mutate: func(ns *corev1.Namespace) {
			ns.Name = "shop.eu"
			ns.Labels[corev1.LabelMetadataName] = "shop.eu"
		}, want: []string{`metadata.name: Invalid value: "shop.eu": must not contain dots`}},
		{name: "a namespace is not in a namespace", mutate: func(ns *corev1.Namespace) { ns.Namespace = "default" },
			want: []string{"metadata.namespace: Forbidden: not allowed on this type"}},
		{name: "spec finalizers are standard or qualified", mutate: func(ns *corev1.Namespace) {
			ns.Spec.Finalizers = []corev1.FinalizerName{"cleanup"}
		}, want: []string{`spec.finalizers: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified`}},
	})
}

func TestValidateNode(t *testing.T) {
	valid := func() *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24"}}
		Default(n)
		return n
	}
	runValidationCases(t, valid, []validationCase[*corev1.Node]{
		{name: "a node is valid"},
		{name: "a node is cluster-scoped", mutate: func(n *corev1.Node) { n.Namespace = "default" },
			want: []string{"metadata.namespace: Forbidden: not allowed on this type"}},
		{name: "pod CIDRs are CIDRs", mutate: func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.1.0/33", []string{"10.244.1.0/33"} },
			want: []string{`spec.podCIDRs[0]: Invalid value: "10.244.1.0/33": must be a valid CIDR value`}},
		{name: "taints have an effect", mutate: func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "dedicated"}} },
			want: []string{"spec.taints[0].effect: Required value"}},
		{name: "taints are unique by key and effect", mutate: func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: "NoSchedule"}, {Key: "k", Value: "v", Effect: "NoSchedule"}}
		}, want: []string{`spec.taints[1]: Duplicate value: {"key":"k","value":"v","effect":"NoSchedule"}: taints must be unique by key and effect pair`}},
		{name: "taint keys are qualified names", mutate: func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "bad key", Effect: "NoExecute"}}
		}, want: []string{`spec.taints[0].key: Invalid value: "bad key"`}},
	})
}

func TestValidateEndpointsAndSlices(t *testing.T) {
	validEP := func() *corev1.Endpoints {
		ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.244.0.5"}}, Ports: []corev1.EndpointPort{{Port: 80}}}}}
		Default(ep)
		return ep
	}
	runValidationCases(t, validEP, []validationCase[*corev1.Endpoints]{
		{name: "endpoints are valid"},
		{name: "a subset has addresses", mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses = nil },
			want: []string{"subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"}},
		{name: "addresses are not loopback", mutate: func(ep *corev1.Endpoints) { ep.Subsets[0].Addresses[0].IP = "127.0.0.1" },
			want: []string{`subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range`}},
	})
	validSlice := func() *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "shop"}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}}}, Ports: []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}}}
		Default(s)
		return s
	}
	runValidationCases(t, validSlice, []validationCase[*discoveryv1.EndpointSlice]{
		{name: "an endpoint slice is valid"},
		{name: "the address type is IPv4, IPv6 or FQDN", mutate: func(s *discoveryv1.EndpointSlice) { s.AddressType = "IP" },
			want: []string{`addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"`}},
		{name: "an endpoint has an address", mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = nil },
			want: []string{"endpoints[0].addresses: Required value: must contain at least 1 address"}},
		{name: "addresses are of the slice's type", mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses[0] = "fd00::5" },
			want: []string{`endpoints[0].addresses[0]: Invalid value: "fd00::5": must be a valid IPv4 address`}},
		{name: "port protocols are TCP, UDP or SCTP", mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].Protocol = ptr.To[corev1.Protocol]("ICMP") },
			want: []string{`ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`}},
	})
}

func TestValidateEventLeaseAndServiceAccount(t *testing.T) {
	validEvent := func() *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web.17f3a", Namespace: "shop"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web"}, Reason: "Started", Type: "Normal"}
	}
	runValidationCases(t, validEvent, []validationCase[*corev1.Event]{
		{name: "an event about an object of its namespace is valid"},
		{name: "an event about a cluster-scoped object may be in default", mutate: func(e *corev1.Event) {
			e.Namespace, e.InvolvedObject = "default", corev1.ObjectReference{Kind: "Node", Name: "node-1"}
		}},
		{name: "an event is in its object's namespace", mutate: func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" },
			want: []string{`involvedObject.namespace: Invalid value: "other": does not match event.namespace`}},
		{name: "an event with an eventTime names its reporter", mutate: func(e *corev1.Event) { e.EventTime = metav1.NewMicroTime(testNow.Time) },
			want: []string{"reportingController: Required value", "reportingInstance: Required value", "action: Required value",
				// Kubernetes also reports the empty name as an invalid qualified name.
				`reportingController: Invalid value: "": name part must be non-empty`,
				`reportingController: Invalid value: "": name part must consist of`}},
	})
	validLease := func() *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-1"), LeaseDurationSeconds: ptr.To[int32](40)}}
	}
	runValidationCases(t, validLease, []validationCase[*coordinationv1.Lease]{
		{name: "a lease is valid"},
		{name: "a lease lasts some time", mutate: func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = ptr.To[int32](0) },
			want: []string{"spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"}},
	})
	validSA := func() *corev1.ServiceAccount {
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "shop"}}
	}
	runValidationCases(t, validSA, []validationCase[*corev1.ServiceAccount]{
		{name: "a service account is valid"},
		{name: "service account names are DNS subdomains", mutate: func(sa *corev1.ServiceAccount) { sa.Name = "Builder" },
			want: []string{`metadata.name: Invalid value: "Builder": a lowercase RFC 1123 subdomain`}},
	})
}

func TestValidateRefusesUnservedKinds(t *testing.T) {
	errs := Validate(&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}})
	expectErrors(t, errs, []string{`kind: Invalid value: "": kind /v1, Kind=PersistentVolume is not served`})
}
