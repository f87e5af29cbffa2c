package controllers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestAServiceGetsEndpointsAndSlicesThatFollowItsPods(t *testing.T) {
	c := startCluster(t, Options{Controllers: []string{ReplicaSetController, DeploymentController, EndpointsController, EndpointSliceController}})
	c.startFakeKubelets(t, "node-a", "node-b")
	ctx := context.Background()
	d := deployment("web", 3, "registry.example/app:1")
	d.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	if _, err := c.cs.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	if _, err := c.cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sliceCount := func() (ready int, ok bool) {
		l, err := c.cs.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		if err != nil || len(l.Items) != 1 {
			return 0, false
		}
		s := l.Items[0]
		if s.Labels[discoveryv1.LabelManagedBy] != EndpointSliceManagedBy || len(s.Ports) != 1 || *s.Ports[0].Port != 8080 {
			return 0, false
		}
		for _, e := range s.Endpoints {
			if *e.Conditions.Ready {
				ready++
			}
		}
		return ready, true
	}
	endpointsReady := func() int {
		ep, err := c.cs.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil || len(ep.Subsets) != 1 || ep.Subsets[0].Ports[0].Port != 8080 {
			return -1
		}
		return len(ep.Subsets[0].Addresses)
	}
	waitFor(t, 20*time.Second, "three ready endpoints and slice endpoints on port 8080", func() (bool, error) {
		n, ok := sliceCount()
		return ok && n == 3 && endpointsReady() == 3, nil
	})
	scale := `{"spec":{"replicas":1}}`
	if _, err := c.cs.AppsV1().Deployments("default").Patch(ctx, "web", "application/merge-patch+json", []byte(scale), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "one endpoint after scaling down", func() (bool, error) {
		n, ok := sliceCount()
		return ok && n == 1 && endpointsReady() == 1, nil
	})
	if err := c.cs.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "endpoints and slices gone with the service", func() (bool, error) {
		_, err := c.cs.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		l, lerr := c.cs.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		return err != nil && lerr == nil && len(l.Items) == 0, nil
	})
}
