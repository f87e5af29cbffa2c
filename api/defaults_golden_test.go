package api

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestDefaultedDeploymentMatchesGolden defaults a Deployment as committed to
// a repository and compares it with the object Kubernetes serves for the
// same manifest (`kubectl get deploy web -o yaml`, spec part).
func TestDefaultedDeploymentMatchesGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(in, &d); err != nil {
		t.Fatalf("decode deployment: %v", err)
	}
	Default(&d)
	got, err := yaml.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "deployment.defaulted.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("defaulted deployment differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
	if errs := Validate(&d); len(errs) > 0 {
		t.Errorf("defaulted deployment is invalid: %v", errs.ToAggregate())
	}
}
