package printers

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	cliprinters "k8s.io/cli-runtime/pkg/printers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestTablesRenderAsKubectlPrintsThem builds the table of each fixture list,
// sends it through JSON as the API server would, and renders it with
// kubectl's own table printer, plain and -o wide. The output is compared
// with testdata/<kind>.txt; run with -update to rewrite those files.
func TestTablesRenderAsKubectlPrintsThem(t *testing.T) {
	tests := []struct {
		golden string
		list   runtime.Object
	}{
		{"pods", fixturePods()},
		{"deployments", fixtureDeployments()},
		{"replicasets", fixtureReplicaSets()},
		{"nodes", fixtureNodes()},
		{"services", fixtureServices()},
		{"namespaces", fixtureNamespaces()},
		{"endpoints", fixtureEndpoints()},
		{"endpointslices", fixtureEndpointSlices()},
		{"configmaps", fixtureConfigMaps()},
		{"secrets", fixtureSecrets()},
		{"events", fixtureEvents()},
		{"leases", fixtureLeases()},
		{"serviceaccounts", fixtureServiceAccounts()},
		{"sources", fixtureSources()},
		{"default", &metav1.PartialObjectMetadataList{Items: []metav1.PartialObjectMetadata{{ObjectMeta: objMeta("other", 90*time.Minute)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			table, err := ToTable(tt.list, TableOptions{Now: now})
			if err != nil {
				t.Fatalf("ToTable: %v", err)
			}
			var got bytes.Buffer
			for _, wide := range []bool{false, true} {
				got.WriteString("$ kubectl get " + tt.golden)
				if wide {
					got.WriteString(" -o wide")
				}
				got.WriteString("\n")
				render(t, &got, table, wide)
				got.WriteString("\n")
			}
			path := filepath.Join("testdata", tt.golden+".txt")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("rendered table differs from %s:\ngot:\n%s\nwant:\n%s", path, got.String(), want)
			}
		})
	}
}

// render round-trips the table through JSON and prints it with kubectl's
// table printer.
func render(t *testing.T, w *bytes.Buffer, table *metav1.Table, wide bool) {
	t.Helper()
	data, err := json.Marshal(table)
	if err != nil {
		t.Fatalf("encode table: %v", err)
	}
	var decoded metav1.Table
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatalf("decode table: %v", err)
	}
	p := cliprinters.NewTablePrinter(cliprinters.PrintOptions{Wide: wide})
	if err := p.PrintObj(&decoded, w); err != nil {
		t.Fatalf("print table: %v", err)
	}
}
