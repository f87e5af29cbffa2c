package api

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

var testNow = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))

func TestPodStartsPendingWithItsQoSClass(t *testing.T) {
	res := func(req, lim string) corev1.ResourceRequirements {
		r := corev1.ResourceRequirements{}
		if req != "" {
			r.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(req), corev1.ResourceMemory: resource.MustParse("64Mi")}
		}
		if lim != "" {
			r.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(lim), corev1.ResourceMemory: resource.MustParse("64Mi")}
		}
		return r
	}
	tests := []struct {
		name string
		res  corev1.ResourceRequirements
		want corev1.PodQOSClass
	}{
		{"no requests or limits is BestEffort", res("", ""), corev1.PodQOSBestEffort},
		{"requests below limits is Burstable", res("100m", "1"), corev1.PodQOSBurstable},
		{"limits only is Guaranteed once requests default to them", res("", "1"), corev1.PodQOSGuaranteed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "c:1", Resources: tt.res}}},
				Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"},
			}
			Default(pod)
			if err := PrepareForCreate(pod, testNow); err != nil {
				t.Fatal(err)
			}
			want := corev1.PodStatus{Phase: corev1.PodPending, QOSClass: tt.want}
			if pod.Status.Phase != want.Phase || pod.Status.QOSClass != want.QOSClass || pod.Status.PodIP != "" {
				t.Errorf("got status %+v, want %+v", pod.Status, want)
			}
			if pod.UID == "" || !pod.CreationTimestamp.Equal(&testNow) || pod.Generation != 1 {
				t.Errorf("got uid %q created %v generation %d", pod.UID, pod.CreationTimestamp, pod.Generation)
			}
		})
	}
}

func TestPrepareForCreateResetsServerOwnedStatus(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Status: appsv1.DeploymentStatus{Replicas: 3}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Status: appsv1.ReplicaSetStatus{Replicas: 3}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{
		Ingress: []corev1.LoadBalancerIngress{{IP: "1.2.3.4"}}}}}
	src := &gitopsv1alpha1.Source{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Status: gitopsv1alpha1.SourceStatus{LastAppliedRevision: "abc"}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{Phase: corev1.NodeRunning}}
	for _, obj := range []runtime.Object{ns, d, rs, svc, src, node} {
		if err := PrepareForCreate(obj, testNow); err != nil {
			t.Fatal(err)
		}
	}
	if ns.Status.Phase != corev1.NamespaceActive || len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != corev1.FinalizerKubernetes {
		t.Errorf("namespace: got phase %q finalizers %v, want Active and [kubernetes]", ns.Status.Phase, ns.Spec.Finalizers)
	}
	if d.Status.Replicas != 0 || rs.Status.Replicas != 0 || len(svc.Status.LoadBalancer.Ingress) != 0 || src.Status.LastAppliedRevision != "" {
		t.Errorf("got statuses %+v %+v %+v %+v, want them empty", d.Status, rs.Status, svc.Status, src.Status)
	}
	if node.Status.Phase != corev1.NodeRunning {
		t.Errorf("node: got phase %q, want the kubelet's status kept", node.Status.Phase)
	}
}

func TestPrepareForUpdateKeepsAllocatedServiceFields(t *testing.T) {
	old := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", ResourceVersion: "7", UID: "u1", Generation: 1},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.20", ClusterIPs: []string{"10.96.0.20"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080, TargetPort: intstr.FromInt32(80), Protocol: corev1.ProtocolTCP}}},
	}
	Default(old)
	// The manifest, applied again with PUT, names neither the cluster IP nor
	// the node port, nor a resourceVersion.
	obj := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
	Default(obj)
	if err := PrepareForUpdate(obj, old); err != nil {
		t.Fatal(err)
	}
	if obj.Spec.ClusterIP != "10.96.0.20" || len(obj.Spec.ClusterIPs) != 1 || obj.Spec.Ports[0].NodePort != 30080 {
		t.Errorf("got clusterIP %q clusterIPs %v nodePort %d, want the allocated ones kept", obj.Spec.ClusterIP, obj.Spec.ClusterIPs, obj.Spec.Ports[0].NodePort)
	}
	if obj.ResourceVersion != "7" || obj.UID != "u1" || obj.Generation != 1 {
		t.Errorf("got resourceVersion %q uid %q generation %d, want 7, u1 and 1", obj.ResourceVersion, obj.UID, obj.Generation)
	}
	if errs := ValidateUpdate(obj, old); len(errs) > 0 {
		t.Errorf("got errors %v, want none", errs)
	}
}

func TestChangingServiceToExternalNameDropsItsClusterIP(t *testing.T) {
	old := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", ResourceVersion: "3"},
		Spec:       corev1.ServiceSpec{ClusterIP: "10.96.0.30", Ports: []corev1.ServicePort{{Port: 5432}}},
	}
	Default(old)
	obj := old.DeepCopy()
	obj.Spec.Type = corev1.ServiceTypeExternalName
	obj.Spec.ExternalName = "db.example.com"
	Default(obj)
	if err := PrepareForUpdate(obj, old); err != nil {
		t.Fatal(err)
	}
	if obj.Spec.ClusterIP != "" || obj.Spec.ClusterIPs != nil || obj.Spec.IPFamilies != nil || obj.Spec.IPFamilyPolicy != nil {
		t.Errorf("got %+v, want the cluster IP fields dropped", obj.Spec)
	}
	if errs := ValidateUpdate(obj, old); len(errs) > 0 {
		t.Errorf("got errors %v, want none", errs)
	}
}

func TestNamespaceFinalizersChangeOnlyThroughFinalize(t *testing.T) {
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", ResourceVersion: "2"},
		Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}}}
	obj := old.DeepCopy()
	obj.Spec.Finalizers = nil
	if err := PrepareForUpdate(obj, old); err != nil {
		t.Fatal(err)
	}
	if len(obj.Spec.Finalizers) != 1 {
		t.Errorf("got finalizers %v, want [kubernetes]", obj.Spec.Finalizers)
	}
}
