package controllers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// goldenDir runs render on every testdata/<dir>/*.yaml and compares its
// output with the .golden file beside it (-update rewrites them).
func goldenDir(t *testing.T, dir string, render func(t *testing.T, raw []byte) string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases under testdata/%s (%v)", dir, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := render(t, raw)
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read %s: %v (run go test -run %s -update)", golden, err, t.Name())
			}
			if got != string(want) {
				t.Errorf("%s differs:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func mustYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func unmarshalCase(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(raw, v); err != nil {
		t.Fatalf("parse case: %v", err)
	}
}

// TestReplicaSetPlanGolden: which pods a sync creates or deletes (in
// order) and the status it reports.
func TestReplicaSetPlanGolden(t *testing.T) {
	goldenDir(t, "replicaset", func(t *testing.T, raw []byte) string {
		var in struct {
			ReplicaSet *appsv1.ReplicaSet `json:"replicaSet"`
			Pods       []*corev1.Pod      `json:"pods"`
			Manage     *bool              `json:"manage"`
			Burst      int                `json:"burst"`
			Now        metav1.Time        `json:"now"`
		}
		unmarshalCase(t, raw, &in)
		plan := PlanReplicaSet(ReplicaSetInput{ReplicaSet: in.ReplicaSet, Pods: in.Pods,
			Manage: in.Manage == nil || *in.Manage, BurstReplicas: in.Burst, Now: in.Now.Time})
		var deleted []string
		for _, p := range plan.Delete {
			deleted = append(deleted, p.Name)
		}
		return mustYAML(t, map[string]any{
			"create": plan.Create, "delete": deleted, "status": plan.Status,
			"statusChanged": plan.StatusChanged, "requeueAfter": plan.RequeueAfter.String(),
		})
	})
}

// TestNodeLifecyclePlanGolden: what a health check writes for a node.
func TestNodeLifecyclePlanGolden(t *testing.T) {
	goldenDir(t, "nodelifecycle", func(t *testing.T, raw []byte) string {
		var in struct {
			Node        *corev1.Node    `json:"node"`
			LastProbe   metav1.Time     `json:"lastProbe"`
			Now         metav1.Time     `json:"now"`
			GracePeriod metav1.Duration `json:"gracePeriod"`
		}
		unmarshalCase(t, raw, &in)
		plan := PlanNodeLifecycle(NodeLifecycleInput{Node: in.Node, LastProbe: in.LastProbe.Time, Now: in.Now.Time, GracePeriod: in.GracePeriod.Duration})
		out := map[string]any{"notReady": plan.NotReady, "taints": plan.Taints}
		if plan.Status != nil {
			out["conditions"] = plan.Status.Conditions
		}
		return mustYAML(t, out)
	})
}

// TestEvictionTimeGolden: when a pod must leave a tainted node.
func TestEvictionTimeGolden(t *testing.T) {
	goldenDir(t, "eviction", func(t *testing.T, raw []byte) string {
		var in struct {
			Cases []struct {
				Name           string              `json:"name"`
				Tolerations    []corev1.Toleration `json:"tolerations"`
				Taints         []corev1.Taint      `json:"taints"`
				DefaultSeconds int64               `json:"defaultSeconds"`
			} `json:"cases"`
			Now metav1.Time `json:"now"`
		}
		unmarshalCase(t, raw, &in)
		var b strings.Builder
		for _, c := range in.Cases {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Tolerations: c.Tolerations}}
			at, ok := EvictionTime(pod, c.Taints, c.DefaultSeconds, in.Now.Time)
			switch {
			case !ok:
				fmt.Fprintf(&b, "%s: never\n", c.Name)
			case !at.After(in.Now.Time):
				fmt.Fprintf(&b, "%s: now\n", c.Name)
			default:
				fmt.Fprintf(&b, "%s: after %s\n", c.Name, at.Sub(in.Now.Time).Round(time.Second))
			}
		}
		return b.String()
	})
}

// TestEndpointsGolden: the Endpoints and EndpointSlices of a Service.
func TestEndpointsGolden(t *testing.T) {
	goldenDir(t, "endpoints", func(t *testing.T, raw []byte) string {
		var in struct {
			Service     *corev1.Service `json:"service"`
			Pods        []*corev1.Pod   `json:"pods"`
			MaxPerSlice int             `json:"maxPerSlice"`
		}
		unmarshalCase(t, raw, &in)
		ep := EndpointsFor(in.Service, in.Pods)
		var slices []map[string]any
		for _, s := range EndpointSlicesFor(in.Service, in.Pods, in.MaxPerSlice) {
			slices = append(slices, map[string]any{"labels": s.Labels, "addressType": s.AddressType, "ports": s.Ports, "endpoints": s.Endpoints})
		}
		return mustYAML(t, map[string]any{"endpoints": map[string]any{"labels": ep.Labels, "subsets": ep.Subsets}, "endpointSlices": slices})
	})
}
