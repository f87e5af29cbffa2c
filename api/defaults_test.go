package api

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

func TestImagePullPolicyDefaultsAsKubernetes(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"nginx", corev1.PullAlways},
		{"nginx:latest", corev1.PullAlways},
		{"nginx:1.27", corev1.PullIfNotPresent},
		{"nginx@" + digest, corev1.PullIfNotPresent},
		{"nginx:latest@" + digest, corev1.PullAlways},
		{"registry.local:5000/team/app", corev1.PullAlways},
		{"registry.local:5000/team/app:v2", corev1.PullIfNotPresent},
		{"Not A Reference", corev1.PullIfNotPresent},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: tt.image}}}}
			Default(pod)
			if got := pod.Spec.Containers[0].ImagePullPolicy; got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPodDefaults(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1"}},
		Containers: []corev1.Container{{
			Name: "app", Image: "app:v1",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			Env: []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
			LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)}}},
			StartupProbe:   &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}, PeriodSeconds: 3},
			Lifecycle:      &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}},
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
		}},
	}}
	Default(pod)
	s := pod.Spec
	checks := []struct {
		name      string
		got, want any
	}{
		{"restartPolicy", s.RestartPolicy, corev1.RestartPolicyAlways},
		{"terminationGracePeriodSeconds", *s.TerminationGracePeriodSeconds, int64(30)},
		{"dnsPolicy", s.DNSPolicy, corev1.DNSClusterFirst},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"securityContext", *s.SecurityContext, corev1.PodSecurityContext{}},
		{"enableServiceLinks", *s.EnableServiceLinks, true},
		{"init terminationMessagePath", s.InitContainers[0].TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", s.Containers[0].TerminationMessagePolicy, corev1.TerminationMessageReadFile},
		{"port protocol", s.Containers[0].Ports[0].Protocol, corev1.ProtocolTCP},
		{"fieldRef apiVersion", s.Containers[0].Env[0].ValueFrom.FieldRef.APIVersion, "v1"},
		{"liveness timeoutSeconds", s.Containers[0].LivenessProbe.TimeoutSeconds, int32(1)},
		{"liveness periodSeconds", s.Containers[0].LivenessProbe.PeriodSeconds, int32(10)},
		{"liveness successThreshold", s.Containers[0].LivenessProbe.SuccessThreshold, int32(1)},
		{"liveness failureThreshold", s.Containers[0].LivenessProbe.FailureThreshold, int32(3)},
		{"httpGet path", s.Containers[0].LivenessProbe.HTTPGet.Path, "/"},
		{"httpGet scheme", s.Containers[0].LivenessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"grpc service", *s.Containers[0].StartupProbe.GRPC.Service, ""},
		{"readiness periodSeconds kept", s.Containers[0].ReadinessProbe.PeriodSeconds, int32(3)},
		{"preStop httpGet path", s.Containers[0].Lifecycle.PreStop.HTTPGet.Path, "/"},
		{"requests.cpu from limits", s.Containers[0].Resources.Requests.Cpu().String(), "1"},
		{"requests.memory from limits", s.Containers[0].Resources.Requests.Memory().String(), "64Mi"},
	}
	for _, c := range checks {
		if !equality.Semantic.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestPodTemplateDoesNotGetPodOnlyDefaults(t *testing.T) {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "c:1", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}},
	}}}}
	Default(d)
	spec := d.Spec.Template.Spec
	if spec.EnableServiceLinks != nil {
		t.Errorf("got enableServiceLinks %v in a template, want unset (Kubernetes defaults it on Pods only)", *spec.EnableServiceLinks)
	}
	if spec.Containers[0].Resources.Requests != nil {
		t.Errorf("got requests %v in a template, want none (defaulted from limits on Pods only)", spec.Containers[0].Resources.Requests)
	}
	if spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("got restartPolicy %q, want Always", spec.RestartPolicy)
	}
}

func TestHostNetworkPodPortsDefaultToHostPorts(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{
		Name: "c", Image: "c:1", Ports: []corev1.ContainerPort{{ContainerPort: 9100}}}}}}
	Default(pod)
	if got := pod.Spec.Containers[0].Ports[0].HostPort; got != 9100 {
		t.Errorf("got hostPort %d, want 9100", got)
	}
}

func TestVolumeDefaults(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "c:1"}},
		Volumes: []corev1.Volume{
			{Name: "none"},
			{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "x"}}}},
			{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "x"}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
			{Name: "mode", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "x", DefaultMode: ptr.To[int32](0o400)}}},
			{Name: "down", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}},
			{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}},
		},
	}}
	Default(pod)
	v := pod.Spec.Volumes
	checks := []struct {
		name      string
		got, want any
	}{
		{"volume without source", v[0].EmptyDir, &corev1.EmptyDirVolumeSource{}},
		{"configMap defaultMode", *v[1].ConfigMap.DefaultMode, int32(420)},
		{"secret defaultMode", *v[2].Secret.DefaultMode, int32(420)},
		{"hostPath type", *v[3].HostPath.Type, corev1.HostPathUnset},
		{"explicit defaultMode kept", *v[4].Secret.DefaultMode, int32(0o400)},
		{"downwardAPI defaultMode", *v[5].DownwardAPI.DefaultMode, int32(420)},
		{"downwardAPI fieldRef apiVersion", v[5].DownwardAPI.Items[0].FieldRef.APIVersion, "v1"},
		{"projected defaultMode", *v[6].Projected.DefaultMode, int32(420)},
		{"token expirationSeconds", *v[6].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds, int64(3600)},
	}
	for _, c := range checks {
		if !equality.Semantic.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDeploymentDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   appsv1.DeploymentSpec
		want func(t *testing.T, s appsv1.DeploymentSpec)
	}{
		{
			name: "an empty spec gets one replica, 25%/25% rolling updates, 10 revisions and 600s deadline",
			want: func(t *testing.T, s appsv1.DeploymentSpec) {
				if *s.Replicas != 1 || s.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
					s.Strategy.RollingUpdate.MaxSurge.String() != "25%" || s.Strategy.RollingUpdate.MaxUnavailable.String() != "25%" ||
					*s.RevisionHistoryLimit != 10 || *s.ProgressDeadlineSeconds != 600 {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "zero replicas stay zero",
			in:   appsv1.DeploymentSpec{Replicas: ptr.To[int32](0)},
			want: func(t *testing.T, s appsv1.DeploymentSpec) {
				if *s.Replicas != 0 {
					t.Errorf("got replicas %d, want 0", *s.Replicas)
				}
			},
		},
		{
			name: "Recreate gets no rollingUpdate",
			in:   appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}},
			want: func(t *testing.T, s appsv1.DeploymentSpec) {
				if s.Strategy.RollingUpdate != nil {
					t.Errorf("got rollingUpdate %+v, want nil", s.Strategy.RollingUpdate)
				}
			},
		},
		{
			name: "a given maxSurge is kept and maxUnavailable filled",
			in: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxSurge: ptr.To(intstr.FromInt32(2))}}},
			want: func(t *testing.T, s appsv1.DeploymentSpec) {
				ru := s.Strategy.RollingUpdate
				if ru.MaxSurge.String() != "2" || ru.MaxUnavailable.String() != "25%" {
					t.Errorf("got maxSurge %s maxUnavailable %s, want 2 and 25%%", ru.MaxSurge, ru.MaxUnavailable)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &appsv1.Deployment{Spec: tt.in}
			Default(d)
			tt.want(t, d.Spec)
		})
	}
}

func TestReplicaSetDefaultsToOneReplica(t *testing.T) {
	rs := &appsv1.ReplicaSet{}
	Default(rs)
	if rs.Spec.Replicas == nil || *rs.Spec.Replicas != 1 {
		t.Errorf("got replicas %v, want 1", rs.Spec.Replicas)
	}
	if rs.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("got template restartPolicy %q, want Always", rs.Spec.Template.Spec.RestartPolicy)
	}
}

func TestServiceDefaults(t *testing.T) {
	single, requireDual := corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyRequireDualStack
	cluster := corev1.ServiceInternalTrafficPolicyCluster
	tests := []struct {
		name string
		in   corev1.ServiceSpec
		want corev1.ServiceSpec
	}{
		{
			name: "a ClusterIP service gets protocol, targetPort, affinity, traffic policy and IPv4 single-stack",
			in:   corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
			want: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"app": "web"},
				Ports:           []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)}},
				SessionAffinity: corev1.ServiceAffinityNone, InternalTrafficPolicy: &cluster,
				IPFamilyPolicy: &single, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			},
		},
		{
			name: "a NodePort service gets externalTrafficPolicy Cluster and keeps a named targetPort",
			in:   corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolUDP}}},
			want: corev1.ServiceSpec{
				Type:            corev1.ServiceTypeNodePort,
				Ports:           []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("http")}},
				SessionAffinity: corev1.ServiceAffinityNone, InternalTrafficPolicy: &cluster,
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
				IPFamilyPolicy:        &single, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			},
		},
		{
			name: "a headless service without selector requires dual stack",
			in:   corev1.ServiceSpec{ClusterIP: "None"},
			want: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", ClusterIPs: []string{"None"},
				SessionAffinity: corev1.ServiceAffinityNone, InternalTrafficPolicy: &cluster,
				IPFamilyPolicy: &requireDual, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
			},
		},
		{
			name: "a given cluster IP is mirrored into clusterIPs and gives the family",
			in:   corev1.ServiceSpec{ClusterIP: "fd00::10", Ports: []corev1.ServicePort{{Port: 53, TargetPort: intstr.FromInt32(5353)}}},
			want: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, ClusterIP: "fd00::10", ClusterIPs: []string{"fd00::10"},
				Ports:           []corev1.ServicePort{{Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(5353)}},
				SessionAffinity: corev1.ServiceAffinityNone, InternalTrafficPolicy: &cluster,
				IPFamilyPolicy: &single, IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol},
			},
		},
		{
			name: "an ExternalName service gets no IP fields",
			in:   corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"},
			want: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com", SessionAffinity: corev1.ServiceAffinityNone},
		},
		{
			name: "ClientIP affinity gets a 3 hour timeout",
			in:   corev1.ServiceSpec{ClusterIP: "None", Selector: map[string]string{"a": "b"}, SessionAffinity: corev1.ServiceAffinityClientIP},
			want: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", ClusterIPs: []string{"None"}, Selector: map[string]string{"a": "b"},
				SessionAffinity:       corev1.ServiceAffinityClientIP,
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](10800)}},
				InternalTrafficPolicy: &cluster, IPFamilyPolicy: &single, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &corev1.Service{Spec: tt.in}
			Default(svc)
			if !equality.Semantic.DeepEqual(svc.Spec, tt.want) {
				t.Errorf("got %+v\nwant %+v", svc.Spec, tt.want)
			}
		})
	}
}

func TestSecretDefaultsMergeStringDataIntoData(t *testing.T) {
	s := &corev1.Secret{Data: map[string][]byte{"a": []byte("old"), "b": []byte("kept")}, StringData: map[string]string{"a": "new"}}
	Default(s)
	if s.Type != corev1.SecretTypeOpaque {
		t.Errorf("got type %q, want Opaque", s.Type)
	}
	if string(s.Data["a"]) != "new" || string(s.Data["b"]) != "kept" || s.StringData != nil {
		t.Errorf("got data %q stringData %v, want a=new b=kept and no stringData", s.Data, s.StringData)
	}
}

func TestSmallerKindDefaults(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	Default(ns)
	if ns.Labels[corev1.LabelMetadataName] != "shop" || ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("namespace: got labels %v phase %q", ns.Labels, ns.Status.Phase)
	}

	node := &corev1.Node{Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24"},
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}}}
	Default(node)
	if len(node.Spec.PodCIDRs) != 1 || node.Spec.PodCIDRs[0] != "10.244.1.0/24" || node.Status.Allocatable.Pods().Value() != 110 {
		t.Errorf("node: got podCIDRs %v allocatable %v", node.Spec.PodCIDRs, node.Status.Allocatable)
	}

	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80}}}}}
	Default(ep)
	if ep.Subsets[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("endpoints: got protocol %q, want TCP", ep.Subsets[0].Ports[0].Protocol)
	}

	slice := &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}}}
	Default(slice)
	if p := slice.Ports[0]; p.Protocol == nil || *p.Protocol != corev1.ProtocolTCP || p.Name == nil || *p.Name != "" {
		t.Errorf("endpointslice: got port %+v, want protocol TCP and name \"\"", p)
	}

	pod := &corev1.Pod{Status: corev1.PodStatus{PodIP: "10.244.0.5"}}
	Default(pod)
	if len(pod.Status.PodIPs) != 1 || pod.Status.PodIPs[0].IP != "10.244.0.5" {
		t.Errorf("pod: got podIPs %v, want [10.244.0.5]", pod.Status.PodIPs)
	}
}

func TestSourceDefaults(t *testing.T) {
	tests := []struct {
		name       string
		in         gitopsv1alpha1.SourceSpec
		wantBranch string
		wantTag    string
	}{
		{"a git source without ref follows main", gitopsv1alpha1.SourceSpec{Git: &gitopsv1alpha1.GitSource{URL: "https://example.com/r.git"}}, "main", ""},
		{"a git source with a tag keeps it", gitopsv1alpha1.SourceSpec{Git: &gitopsv1alpha1.GitSource{URL: "https://example.com/r.git", Ref: gitopsv1alpha1.GitRef{Tag: "v1"}}}, "", "v1"},
		{"a directory source gets no ref", gitopsv1alpha1.SourceSpec{Directory: &gitopsv1alpha1.DirectorySource{Path: "/srv"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &gitopsv1alpha1.Source{Spec: tt.in}
			Default(s)
			if s.Spec.Interval.Duration != DefaultSourceInterval || s.Spec.Timeout == nil || s.Spec.Timeout.Duration != DefaultSourceTimeout {
				t.Errorf("got interval %v timeout %v, want 1m and 60s", s.Spec.Interval, s.Spec.Timeout)
			}
			if g := s.Spec.Git; g != nil && (g.Ref.Branch != tt.wantBranch || g.Ref.Tag != tt.wantTag) {
				t.Errorf("got ref %+v, want branch %q tag %q", g.Ref, tt.wantBranch, tt.wantTag)
			}
		})
	}
}

func TestDefaultIsIdempotent(t *testing.T) {
	objs := []runtime.Object{
		&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "c", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}}},
		&corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "None", Ports: []corev1.ServicePort{{Port: 80}}}},
		&corev1.Secret{StringData: map[string]string{"k": "v"}},
		&appsv1.Deployment{},
		&gitopsv1alpha1.Source{Spec: gitopsv1alpha1.SourceSpec{Git: &gitopsv1alpha1.GitSource{URL: "https://x/y"}}},
	}
	for _, obj := range objs {
		once := obj.DeepCopyObject()
		Default(once)
		twice := once.DeepCopyObject()
		Default(twice)
		if !equality.Semantic.DeepEqual(once, twice) {
			t.Errorf("%T: defaulting twice changed the object:\nonce  %+v\ntwice %+v", obj, once, twice)
		}
	}
}
