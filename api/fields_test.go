package api

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestSelectableFields(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		want fields.Set
	}{
		{
			name: "a pod offers its node, policies, phase and IP",
			obj: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
				Spec:   corev1.PodSpec{NodeName: "node-1", RestartPolicy: "Always", SchedulerName: "default-scheduler", ServiceAccountName: "default"},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.9", PodIPs: []corev1.PodIP{{IP: "10.244.0.9"}}}},
			want: fields.Set{"metadata.name": "web", "metadata.namespace": "shop", "spec.nodeName": "node-1", "spec.restartPolicy": "Always",
				"spec.schedulerName": "default-scheduler", "spec.serviceAccountName": "default", "spec.hostNetwork": "false",
				"status.phase": "Running", "status.podIP": "10.244.0.9", "status.nominatedNodeName": ""},
		},
		{
			name: "a node is cluster-scoped and offers spec.unschedulable",
			obj:  &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Spec: corev1.NodeSpec{Unschedulable: true}},
			want: fields.Set{"metadata.name": "node-1", "spec.unschedulable": "true"},
		},
		{
			name: "an event offers its involved object, reason, source and type",
			obj: &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "shop"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web", UID: "u", APIVersion: "v1", ResourceVersion: "5", FieldPath: "spec.containers{web}"},
				Reason:         "Started", ReportingController: "navarch-kubelet", Type: "Normal"},
			want: fields.Set{"metadata.name": "e", "metadata.namespace": "shop", "involvedObject.kind": "Pod", "involvedObject.namespace": "shop",
				"involvedObject.name": "web", "involvedObject.uid": "u", "involvedObject.apiVersion": "v1", "involvedObject.resourceVersion": "5",
				"involvedObject.fieldPath": "spec.containers{web}", "reason": "Started", "reportingComponent": "navarch-kubelet",
				"source": "navarch-kubelet", "type": "Normal"},
		},
		{
			name: "a secret offers its type",
			obj:  &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "shop"}, Type: corev1.SecretTypeOpaque},
			want: fields.Set{"metadata.name": "s", "metadata.namespace": "shop", "type": "Opaque"},
		},
		{
			name: "a namespace offers its phase",
			obj:  &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			want: fields.Set{"metadata.name": "shop", "status.phase": "Active"},
		},
		{
			name: "a replicaset offers its replica count",
			obj:  &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "shop"}, Status: appsv1.ReplicaSetStatus{Replicas: 3}},
			want: fields.Set{"metadata.name": "r", "metadata.namespace": "shop", "status.replicas": "3"},
		},
		{
			name: "a service offers its cluster IP and type",
			obj:  &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "shop"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", Type: "ClusterIP"}},
			want: fields.Set{"metadata.name": "s", "metadata.namespace": "shop", "spec.clusterIP": "10.96.0.1", "spec.type": "ClusterIP"},
		},
		{
			name: "a deployment offers its name and namespace only",
			obj:  &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "shop"}},
			want: fields.Set{"metadata.name": "d", "metadata.namespace": "shop"},
		},
		{
			name: "an empty namespaced object still offers metadata.namespace",
			obj:  &corev1.ConfigMap{},
			want: fields.Set{"metadata.name": "", "metadata.namespace": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := SelectableFields(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if gv, ok := got[k]; !ok || gv != v {
					t.Errorf("field %s: got %q (present %v), want %q", k, gv, ok, v)
				}
			}
		})
	}
}

func TestSelectableFieldsReturnsLabels(t *testing.T) {
	l, _, err := SelectableFields(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}})
	if err != nil || l["app"] != "web" {
		t.Errorf("got labels %v err %v, want app=web", l, err)
	}
}
