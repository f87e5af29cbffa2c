package printers

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// now is the fixed clock of every test; objects are created relative to it.
var now = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func objMeta(name string, created time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), ResourceVersion: "42", CreationTimestamp: ago(created)}
}

func ptr[T any](v T) *T { return &v }

func running(name string, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: true, RestartCount: restarts, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Hour)}}}
}

func waiting(name, reason string, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, RestartCount: restarts, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(name, reason string, code, signal int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, Signal: signal}}}
}

func containers(names ...string) []corev1.Container {
	out := make([]corev1.Container, len(names))
	for i, n := range names {
		out[i] = corev1.Container{Name: n, Image: "registry.local/" + n + ":1.0"}
	}
	return out
}

func fixturePods() *corev1.PodList {
	web := corev1.Pod{ObjectMeta: objMeta("web-7d9f-abcde", 3*time.Hour), Spec: corev1.PodSpec{NodeName: "node-1", Containers: containers("web", "sidecar")},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.5", PodIPs: []corev1.PodIP{{IP: "10.244.1.5"}},
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{running("web", 0), running("sidecar", 0)}}}
	crash := corev1.Pod{ObjectMeta: objMeta("api-5c8b-fghij", 26*time.Hour), Spec: corev1.PodSpec{NodeName: "node-2", Containers: containers("api")},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.244.2.7"}}}}
	cs := waiting("api", "CrashLoopBackOff", 7)
	cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(90 * time.Second)}
	crash.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
	pending := corev1.Pod{ObjectMeta: objMeta("pending-0", 20*time.Second), Spec: corev1.PodSpec{Containers: containers("app")},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	initPod := corev1.Pod{ObjectMeta: objMeta("migrate-0", 2*time.Minute), Spec: corev1.PodSpec{NodeName: "node-1",
		InitContainers: containers("wait-db", "migrate"), Containers: containers("app"),
		ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, NominatedNodeName: "node-3",
			InitContainerStatuses: []corev1.ContainerStatus{terminated("wait-db", "Completed", 0, 0), waiting("migrate", "PodInitializing", 0)},
			ContainerStatuses:     []corev1.ContainerStatus{waiting("app", "PodInitializing", 0)}}}
	deleting := web
	deleting.Name = "old-web-1"
	deleting.DeletionTimestamp = ptr(ago(time.Second))
	done := corev1.Pod{ObjectMeta: objMeta("job-xyz", 48*time.Hour), Spec: corev1.PodSpec{NodeName: "node-1", Containers: containers("job")},
		Status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{terminated("job", "Completed", 0, 0)}}}
	return &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1234"}, Items: []corev1.Pod{web, crash, pending, initPod, deleting, done}}
}

func fixtureDeployments() *appsv1.DeploymentList {
	d := appsv1.Deployment{ObjectMeta: objMeta("web", 72*time.Hour), Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers("web", "sidecar")}}},
		Status: appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}}
	return &appsv1.DeploymentList{Items: []appsv1.Deployment{d}}
}

func fixtureReplicaSets() *appsv1.ReplicaSetList {
	rs := appsv1.ReplicaSet{ObjectMeta: objMeta("web-7d9f", 72*time.Hour), Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(3)),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "pod-template-hash": "7d9f"}},
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers("web")}}},
		Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1}}
	old := rs
	old.Name, old.Spec.Replicas, old.Status = "web-5b6c", ptr(int32(0)), appsv1.ReplicaSetStatus{}
	return &appsv1.ReplicaSetList{Items: []appsv1.ReplicaSet{rs, old}}
}

func fixtureNodes() *corev1.NodeList {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", CreationTimestamp: ago(10 * 24 * time.Hour),
		Labels: map[string]string{"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.10"}, {Type: corev1.NodeHostName, Address: "node-1"}},
			NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: "v1.37.2-navarch", OSImage: "Debian GNU/Linux 13", KernelVersion: "6.12.0", ContainerRuntimeVersion: "containerd://2.4.2"}}}
	cordoned := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-2", CreationTimestamp: ago(5 * time.Minute)}, Spec: corev1.NodeSpec{Unschedulable: true},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}}}
	fresh := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-3", CreationTimestamp: ago(5 * time.Second)}}
	return &corev1.NodeList{Items: []corev1.Node{n, cordoned, fresh}}
}

func fixtureServices() *corev1.ServiceList {
	web := corev1.Service{ObjectMeta: objMeta("web", 5*time.Hour), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP,
		ClusterIP: "10.96.0.12", ClusterIPs: []string{"10.96.0.12"}, Selector: map[string]string{"app": "web"},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}}
	np := corev1.Service{ObjectMeta: objMeta("shop", 5*time.Hour), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
		ClusterIPs: []string{"10.96.0.13"}, Selector: map[string]string{"app": "shop", "tier": "front"},
		Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}}}
	lb := corev1.Service{ObjectMeta: objMeta("edge", time.Hour), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
		ClusterIPs: []string{"10.96.0.14"}, Ports: []corev1.ServicePort{{Port: 443, NodePort: 31443, Protocol: corev1.ProtocolTCP}}}}
	ext := corev1.Service{ObjectMeta: objMeta("db", time.Hour), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}}
	headless := corev1.Service{ObjectMeta: objMeta("peers", time.Hour), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "None", ClusterIPs: []string{"None"}}}
	return &corev1.ServiceList{Items: []corev1.Service{web, np, lb, ext, headless}}
}

func fixtureNamespaces() *corev1.NamespaceList {
	return &corev1.NamespaceList{Items: []corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: ago(400 * 24 * time.Hour)}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		{ObjectMeta: metav1.ObjectMeta{Name: "old", CreationTimestamp: ago(3 * time.Hour)}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
	}}
}

func fixtureEndpoints() *corev1.EndpointsList {
	addrs := []corev1.EndpointAddress{{IP: "10.244.1.5"}, {IP: "10.244.2.7"}}
	return &corev1.EndpointsList{Items: []corev1.Endpoints{
		{ObjectMeta: objMeta("web", time.Hour), Subsets: []corev1.EndpointSubset{{Addresses: addrs, Ports: []corev1.EndpointPort{{Name: "http", Port: 8080}, {Name: "metrics", Port: 9090}}}}},
		{ObjectMeta: objMeta("peers", time.Hour), Subsets: []corev1.EndpointSubset{{Addresses: addrs}}},
		{ObjectMeta: objMeta("empty", time.Hour)},
	}}
}

func fixtureEndpointSlices() *discoveryv1.EndpointSliceList {
	return &discoveryv1.EndpointSliceList{Items: []discoveryv1.EndpointSlice{
		{ObjectMeta: objMeta("web-abc12", time.Hour), AddressType: discoveryv1.AddressTypeIPv4,
			Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.5"}}, {Addresses: []string{"10.244.2.7"}},
				{Addresses: []string{"10.244.3.2"}}, {Addresses: []string{"10.244.3.9"}}, {Addresses: []string{"10.244.4.1"}}}},
		{ObjectMeta: objMeta("idle-xyz89", time.Hour), AddressType: discoveryv1.AddressTypeIPv4},
	}}
}

func fixtureConfigMaps() *corev1.ConfigMapList {
	return &corev1.ConfigMapList{Items: []corev1.ConfigMap{
		{ObjectMeta: objMeta("settings", 2*time.Hour), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": {1}}},
		{ObjectMeta: objMeta("kube-root-ca.crt", 30*24*time.Hour), Data: map[string]string{"ca.crt": "..."}},
	}}
}

func fixtureSecrets() *corev1.SecretList {
	return &corev1.SecretList{Items: []corev1.Secret{
		{ObjectMeta: objMeta("shop-git", 2*time.Hour), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"username": nil, "password": nil}},
		{ObjectMeta: objMeta("tls", 2*time.Hour), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
	}}
}

func fixtureEvents() *corev1.EventList {
	return &corev1.EventList{Items: []corev1.Event{
		{ObjectMeta: objMeta("web-7d9f-abcde.17a", 10*time.Minute), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-7d9f-abcde", FieldPath: "spec.containers{web}"},
			Reason: "Started", Message: "Started container web\n", Type: corev1.EventTypeNormal, Count: 3,
			FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(2 * time.Minute), Source: corev1.EventSource{Component: "kubelet", Host: "node-1"}},
		{ObjectMeta: objMeta("web.17b", time.Minute), InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Name: "web"},
			Reason: "ScalingReplicaSet", Message: "Scaled up replica set web-7d9f to 3", Type: corev1.EventTypeNormal,
			EventTime: metav1.NewMicroTime(now.Add(-time.Minute)), ReportingController: "deployment-controller"},
		{ObjectMeta: objMeta("node-2.17c", time.Hour), InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-2"},
			Reason: "NodeNotReady", Message: "Node node-2 status is now: NodeNotReady", Type: corev1.EventTypeWarning,
			EventTime: metav1.NewMicroTime(now.Add(-time.Hour)), Series: &corev1.EventSeries{Count: 12, LastObservedTime: metav1.NewMicroTime(now.Add(-30 * time.Second))},
			ReportingController: "node-controller", ReportingInstance: "server-1"},
	}}
}

func fixtureLeases() *coordinationv1.LeaseList {
	return &coordinationv1.LeaseList{Items: []coordinationv1.Lease{
		{ObjectMeta: objMeta("node-1", 10*24*time.Hour), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("node-1")}},
		{ObjectMeta: objMeta("scheduler", time.Hour)},
	}}
}

func fixtureServiceAccounts() *corev1.ServiceAccountList {
	return &corev1.ServiceAccountList{Items: []corev1.ServiceAccount{
		{ObjectMeta: objMeta("default", 400*24*time.Hour)},
		{ObjectMeta: objMeta("builder", time.Hour), Secrets: []corev1.ObjectReference{{Name: "builder-token"}}},
	}}
}

func fixtureSources() *gitopsv1alpha1.SourceList {
	ready := gitopsv1alpha1.Source{ObjectMeta: objMeta("shop", 6*time.Hour),
		Spec: gitopsv1alpha1.SourceSpec{Git: &gitopsv1alpha1.GitSource{URL: "https://git.example.com/shop.git"}, Path: "deploy/"},
		Status: gitopsv1alpha1.SourceStatus{LastAppliedRevision: "main@sha1:3f2a9c1b7e4d5f60718293a4b5c6d7e8f9012345",
			Conditions: []metav1.Condition{{Type: gitopsv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "Applied revision main@sha1:3f2a9c1b7e4d"}}}}
	failing := gitopsv1alpha1.Source{ObjectMeta: objMeta("infra", 2*time.Hour),
		Spec: gitopsv1alpha1.SourceSpec{Git: &gitopsv1alpha1.GitSource{URL: "ssh://git@git.example.com/infra.git"}},
		Status: gitopsv1alpha1.SourceStatus{LastAppliedRevision: "9b8a7c6d5e4f30211203948576abcdef01234567",
			Conditions: []metav1.Condition{{Type: gitopsv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "ValidationFailed",
				Message: "deploy/web.yaml: Deployment default/web: spec.replicas: Invalid value: -1"}}}}
	dir := gitopsv1alpha1.Source{ObjectMeta: objMeta("local", time.Minute),
		Spec: gitopsv1alpha1.SourceSpec{Directory: &gitopsv1alpha1.DirectorySource{Path: "/srv/manifests"}}}
	return &gitopsv1alpha1.SourceList{Items: []gitopsv1alpha1.Source{ready, failing, dir}}
}
