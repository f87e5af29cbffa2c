package kubelet

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"

	"github.com/navarch/navarch/proxy"
)

// appliedService is a Service as kubectl apply leaves it: labels, the
// last-applied configuration, managed fields and a status.
func appliedService(name string, typ corev1.ServiceType, clusterIP string, ports ...corev1.ServicePort) *corev1.Service {
	s := &corev1.Service{
		TypeMeta: metav1.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "shop", UID: types.UID("uid-" + name), ResourceVersion: "42",
			Labels: map[string]string{"app": name, "tier": "backend"},
			ManagedFields: []metav1.ManagedFieldsEntry{{
				Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
				FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:annotations":{".":{},"f:kubectl.kubernetes.io/last-applied-configuration":{}},"f:labels":{".":{},"f:app":{},"f:tier":{}}},"f:spec":{"f:ports":{".":{},"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:protocol":{},"f:targetPort":{}}},"f:selector":{},"f:type":{}}}`)},
			}},
		},
		Spec: corev1.ServiceSpec{
			Type: typ, ClusterIP: clusterIP, Ports: ports,
			Selector:        map[string]string{"app": name},
			SessionAffinity: corev1.ServiceAffinityNone,
		},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}}},
	}
	if clusterIP != "" {
		s.Spec.ClusterIPs = []string{clusterIP}
	}
	applied, _ := json.Marshal(s)
	s.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(applied)}
	return s
}

func TestTrimServiceKeepsTheServiceEnvironmentAndDropsTheRest(t *testing.T) {
	web := corev1.ServicePort{Name: "web", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}
	dns := corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}
	services := []*corev1.Service{
		appliedService("frontend", corev1.ServiceTypeClusterIP, "10.96.0.10", web),
		appliedService("resolver", corev1.ServiceTypeNodePort, "10.96.0.53", dns, web),
		appliedService("unnamed", corev1.ServiceTypeClusterIP, "10.96.0.11", corev1.ServicePort{Port: 9000}),
		appliedService("headless", corev1.ServiceTypeClusterIP, corev1.ClusterIPNone, web),
		appliedService("external", corev1.ServiceTypeExternalName, "", web),
	}
	for _, s := range services {
		t.Run(s.Name, func(t *testing.T) {
			want := fmt.Sprint(proxy.ServiceEnvironment([]*corev1.Service{s}))
			obj, err := TrimService(s.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			trimmed := obj.(*corev1.Service)
			if got := fmt.Sprint(proxy.ServiceEnvironment([]*corev1.Service{trimmed})); got != want {
				t.Errorf("environment: got %s, want %s", got, want)
			}
			if trimmed.Name != s.Name || trimmed.Namespace != s.Namespace || trimmed.UID != s.UID || trimmed.ResourceVersion != s.ResourceVersion {
				t.Errorf("identity: got %s/%s %s rv %s, want %s/%s %s rv %s", trimmed.Namespace, trimmed.Name, trimmed.UID,
					trimmed.ResourceVersion, s.Namespace, s.Name, s.UID, s.ResourceVersion)
			}
			if trimmed.Annotations != nil || trimmed.Labels != nil || trimmed.ManagedFields != nil || trimmed.Spec.Selector != nil ||
				len(trimmed.Status.LoadBalancer.Ingress) > 0 {
				t.Errorf("got annotations %v, labels %v, managed fields %v, selector %v, status %v; want none",
					trimmed.Annotations, trimmed.Labels, trimmed.ManagedFields, trimmed.Spec.Selector, trimmed.Status)
			}
			full, _ := json.Marshal(s)
			small, _ := json.Marshal(trimmed)
			if 3*len(small) > len(full) {
				t.Errorf("size: got %d bytes of %d, want at most a third", len(small), len(full))
			}
		})
	}
}

func TestTrimServiceLeavesOtherObjectsAlone(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Annotations: map[string]string{"a": "b"}}}
	tombstone := cache.DeletedFinalStateUnknown{Key: "shop/frontend", Obj: appliedService("frontend", corev1.ServiceTypeClusterIP, "10.96.0.10")}
	for _, obj := range []any{pod, tombstone} {
		got, err := TrimService(obj)
		if err != nil || !reflect.DeepEqual(got, obj) {
			t.Errorf("TrimService(%T): got %T (%v), want the object unchanged", obj, got, err)
		}
	}
}

// TestAPodEventAfterTheWorkersStoppedIsDropped: a shared pod watch may
// deliver an update for a node whose kubelet is stopping; the kubelet
// drops it rather than starting a worker, or crashing the process.
func TestAPodEventAfterTheWorkersStoppedIsDropped(t *testing.T) {
	p := newPodWorkers(&Kubelet{})
	p.wait()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "late", Namespace: "default", UID: "uid-late"}}
	p.PodUpdated(pod)
	p.PodDeleted(pod)
	p.orphan(pod.UID)
	if w := p.get(pod.UID, false); w != nil {
		t.Fatalf("a worker was created after the workers stopped: %+v", w)
	}
}
