package api

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// updateCase changes a copy of a stored object and expects the errors of
// ValidateUpdate, each given by the start of its message.
type updateCase[T runtime.Object] struct {
	name   string
	mutate func(T)
	want   []string
}

// runUpdateCases stores newObj's object as the API server would (defaulted,
// created, at resourceVersion 1) and validates each case's update of it.
func runUpdateCases[T runtime.Object](t *testing.T, newObj func() T, cases []updateCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := newObj()
			if err := PrepareForCreate(old, testNow); err != nil {
				t.Fatal(err)
			}
			setResourceVersion(t, old, "1")
			obj := old.DeepCopyObject().(T)
			tc.mutate(obj)
			expectErrors(t, ValidateUpdate(obj, old), tc.want)
		})
	}
}

func setResourceVersion(t *testing.T, obj runtime.Object, rv string) {
	t.Helper()
	obj.(metav1.Object).SetResourceVersion(rv)
}

func TestValidateDeploymentUpdate(t *testing.T) {
	runUpdateCases(t, validDeployment, []updateCase[*appsv1.Deployment]{
		{name: "scaling and a new image are allowed", mutate: func(d *appsv1.Deployment) {
			d.Spec.Replicas = ptr.To[int32](5)
			d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
		}},
		{name: "the selector is immutable", mutate: func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchLabels["tier"] = "front"
		}, want: []string{`spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"front"}}: field is immutable`}},
		{name: "an update names a resourceVersion", mutate: func(d *appsv1.Deployment) { d.ResourceVersion = "" },
			want: []string{`metadata.resourceVersion: Invalid value: "": must be specified for an update`}},
		{name: "the name is immutable", mutate: func(d *appsv1.Deployment) { d.Name = "web2" },
			want: []string{`metadata.name: Invalid value: "web2": field is immutable`}},
		{name: "the uid is immutable", mutate: func(d *appsv1.Deployment) { d.UID = "other" },
			want: []string{`metadata.uid: Invalid value: "other": field is immutable`}},
		{name: "an invalid label is reported once", mutate: func(d *appsv1.Deployment) { d.Labels = map[string]string{"app": "a b"} },
			want: []string{`metadata.labels: Invalid value: "a b": a valid label must be`}},
		{name: "the new object is validated too", mutate: func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](-1) },
			want: []string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
	})
	rs := func() *appsv1.ReplicaSet {
		d := validDeployment()
		r := &appsv1.ReplicaSet{ObjectMeta: d.ObjectMeta, Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template}}
		Default(r)
		return r
	}
	runUpdateCases(t, rs, []updateCase[*appsv1.ReplicaSet]{
		{name: "a replicaset's selector is immutable", mutate: func(r *appsv1.ReplicaSet) {
			r.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "front"}}
		}, want: []string{`spec.selector: Invalid value: {"matchLabels":{"tier":"front"}}: field is immutable`}},
	})
}

func TestValidatePodUpdate(t *testing.T) {
	runUpdateCases(t, validPod, []updateCase[*corev1.Pod]{
		{name: "a new image is allowed", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }},
		{name: "labels may change", mutate: func(p *corev1.Pod) { p.Labels["version"] = "2" }},
		{name: "added tolerations are allowed", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: "Exists"})
		}},
		{name: "binding an unbound pod to a node is allowed", mutate: func(p *corev1.Pod) { p.Spec.NodeName = "node-1" }},
		{name: "other spec fields are immutable", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []string{"spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"}},
		{name: "containers are not added", mutate: func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "b:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File"})
		}, want: []string{"spec.containers: Forbidden: pod updates may not add or remove containers"}},
	})
	bound := func() *corev1.Pod {
		p := validPod()
		p.Spec.NodeName = "node-1"
		p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
		p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Exists"}}
		return p
	}
	runUpdateCases(t, bound, []updateCase[*corev1.Pod]{
		{name: "nodeName cannot change once set", mutate: func(p *corev1.Pod) { p.Spec.NodeName = "node-2" },
			want: []string{`spec.nodeName: Invalid value: "node-2": may not change once set`}},
		{name: "activeDeadlineSeconds may be lowered", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](30) }},
		{name: "activeDeadlineSeconds is not raised", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](90) },
			want: []string{"spec.activeDeadlineSeconds: Invalid value: 90: must be less than or equal to previous value"}},
		{name: "activeDeadlineSeconds is not removed", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			want: []string{"spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"}},
		{name: "tolerations are not removed", mutate: func(p *corev1.Pod) { p.Spec.Tolerations = nil },
			want: []string{"spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"}},
	})
}

func TestValidateServiceUpdate(t *testing.T) {
	allocated := func() *corev1.Service {
		s := validService()
		s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.10"}
		return s
	}
	runUpdateCases(t, allocated, []updateCase[*corev1.Service]{
		{name: "ports may change", mutate: func(s *corev1.Service) { s.Spec.Ports[0].Port = 8080 }},
		{name: "the cluster IP may not change once set", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.11", []string{"10.96.0.11"}
		}, want: []string{`spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set`}},
		{name: "the cluster IP is not released", mutate: func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil },
			want: []string{"spec.clusterIPs[0]: Invalid value: null: primary clusterIP can not be unset"}},
	})
}

func TestValidateImmutableDataUpdate(t *testing.T) {
	cm := func() *corev1.ConfigMap {
		c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "shop"}, Data: map[string]string{"a": "1"}, Immutable: ptr.To(true)}
		Default(c)
		return c
	}
	runUpdateCases(t, cm, []updateCase[*corev1.ConfigMap]{
		{name: "an immutable configmap's labels may change", mutate: func(c *corev1.ConfigMap) { c.Labels = map[string]string{"x": "y"} }},
		{name: "an immutable configmap keeps its data", mutate: func(c *corev1.ConfigMap) { c.Data["a"] = "2" },
			want: []string{"data: Forbidden: field is immutable when `immutable` is set"}},
		{name: "an immutable configmap stays immutable", mutate: func(c *corev1.ConfigMap) { c.Immutable = ptr.To(false) },
			want: []string{"immutable: Forbidden: field is immutable when `immutable` is set"}},
	})
	secret := func() *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "shop"}, Data: map[string][]byte{"a": []byte("1")}}
		Default(s)
		return s
	}
	runUpdateCases(t, secret, []updateCase[*corev1.Secret]{
		{name: "a mutable secret's data may change", mutate: func(s *corev1.Secret) { s.Data["a"] = []byte("2") }},
		{name: "a secret's type is immutable", mutate: func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeBasicAuth
			s.Data["username"] = []byte("u")
		}, want: []string{`type: Invalid value: "kubernetes.io/basic-auth": field is immutable`}},
		{name: "the update that makes a secret immutable may still change its data", mutate: func(s *corev1.Secret) {
			s.Immutable = ptr.To(true)
			s.Data["a"] = []byte("2")
		}},
	})
}

func TestValidateOtherUpdates(t *testing.T) {
	node := func() *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24"}}
		Default(n)
		return n
	}
	runUpdateCases(t, node, []updateCase[*corev1.Node]{
		{name: "a node may be cordoned", mutate: func(n *corev1.Node) { n.Spec.Unschedulable = true }},
		{name: "a node's pod CIDR is set once", mutate: func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.2.0/24", []string{"10.244.2.0/24"} },
			want: []string{`spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid`}},
	})
	slice := func() *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "shop"}, AddressType: discoveryv1.AddressTypeIPv4}
		Default(s)
		return s
	}
	runUpdateCases(t, slice, []updateCase[*discoveryv1.EndpointSlice]{
		{name: "an endpoint slice's address type is immutable", mutate: func(s *discoveryv1.EndpointSlice) { s.AddressType = discoveryv1.AddressTypeFQDN },
			want: []string{`addressType: Invalid value: "FQDN": field is immutable`}},
	})
	runUpdateCases(t, validSource, []updateCase[*gitopsv1alpha1.Source]{
		{name: "a source's git url may change", mutate: func(s *gitopsv1alpha1.Source) { s.Spec.Git.URL = "ssh://git@git.example.com/shop.git" }},
		{name: "a source may switch to a directory", mutate: func(s *gitopsv1alpha1.Source) {
			s.Spec.Git, s.Spec.Directory = nil, &gitopsv1alpha1.DirectorySource{Path: "/srv/shop"}
		}},
	})
}

func TestValidateUpdateRefusesAChangeOfKind(t *testing.T) {
	errs := ValidateUpdate(validPod(), validService())
	expectErrors(t, errs, []string{"kind: Internal error: update of a *v1.Service with a *v1.Pod"})
}
