package openapi

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/kube-openapi/pkg/spec3"
)

// TestPathsMatchTheGoldenListing renders every path and operation of the
// served documents — method, operation id, kind, action and query
// parameters — and compares it with testdata/paths.txt (-update rewrites
// it).
func TestPathsMatchTheGoldenListing(t *testing.T) {
	docs := served(t)
	var names []string
	for name := range docs {
		names = append(names, name)
	}
	sort.Strings(names)
	var got bytes.Buffer
	for _, name := range names {
		fmt.Fprintf(&got, "# %s\n", name)
		doc := docs[name]
		var paths []string
		for p := range doc.Paths.Paths {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			item := doc.Paths.Paths[p]
			for _, m := range []struct {
				method string
				op     *spec3.Operation
			}{{"GET", item.Get}, {"POST", item.Post}, {"PUT", item.Put}, {"PATCH", item.Patch}, {"DELETE", item.Delete}} {
				if m.op == nil {
					continue
				}
				fmt.Fprintf(&got, "%-6s %s %s%s\n", m.method, p, m.op.OperationId, describe(m.op))
			}
		}
	}
	path := filepath.Join("testdata", "paths.txt")
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
		t.Errorf("paths differ from %s; run with -update and review the diff:\n%s", path, got.String())
	}
}

func describe(op *spec3.Operation) string {
	var parts []string
	var gvk map[string]string
	if op.Extensions.GetObject(extGVK, &gvk) == nil && gvk != nil {
		parts = append(parts, fmt.Sprintf("kind=%s/%s/%s", gvk["group"], gvk["version"], gvk["kind"]))
	}
	if a, _ := op.Extensions.GetString(extAction); a != "" {
		parts = append(parts, "action="+a)
	}
	var params []string
	for _, p := range op.Parameters {
		params = append(params, p.Name)
	}
	if len(params) > 0 {
		parts = append(parts, "query="+strings.Join(params, ","))
	}
	if op.RequestBody != nil {
		var types []string
		for ct := range op.RequestBody.Content {
			types = append(types, ct)
		}
		sort.Strings(types)
		parts = append(parts, "body="+strings.Join(types, ","))
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}
