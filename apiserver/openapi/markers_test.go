package openapi

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/navarch/navarch/api"
	"github.com/navarch/navarch/apiserver/openapi/internal/markers"
)

var update = flag.Bool("update", false, "rewrite generated files and golden files")

const markersFile = "zz_generated.markers.go"

// TestGeneratedMarkersAreUpToDate re-reads the comment markers of every Go
// type the served resources reach and compares the rendered data with
// zz_generated.markers.go. Run with -update to rewrite it after changing
// API types or dependency versions.
func TestGeneratedMarkersAreUpToDate(t *testing.T) {
	reached := reachedTypes(t)
	pkgs := map[string]bool{}
	for ty := range reached {
		pkgs[ty.PkgPath()] = true
	}
	var paths []string
	for p := range pkgs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	dirs, err := markers.PackageDirs(".", paths)
	if err != nil {
		t.Skipf("cannot locate package sources: %v", err)
	}
	wanted := map[string]bool{}
	for ty := range reached {
		wanted[typeKey(ty)] = true
	}
	all := map[string]markers.Type{}
	for _, p := range paths {
		dir, ok := dirs[p]
		if !ok {
			t.Fatalf("no source directory for %s", p)
		}
		_, err := os.Stat(filepath.Join(dir, "types_swagger_doc_generated.go"))
		found, err := markers.Scan(p, dir, os.IsNotExist(err))
		if err != nil {
			t.Fatalf("scan %s: %v", p, err)
		}
		for k, v := range found {
			if wanted[k] {
				all[k] = v
			}
		}
	}
	got, err := markers.Render("openapi", "generatedMarkers", all)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if *update {
		if err := os.WriteFile(markersFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(markersFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale; run go test ./apiserver/openapi -run TestGeneratedMarkersAreUpToDate -update", markersFile)
	}
}

// reachedTypes returns every named Go type the documents of the served
// resources describe.
func reachedTypes(t *testing.T) map[reflect.Type]bool {
	t.Helper()
	byGV, groups := groupResources(api.Resources())
	reached := map[reflect.Type]bool{}
	for gv, rs := range byGV {
		b := newSchemaBuilder(groups, nil)
		p := newPathBuilder(gv, b)
		p.addDiscovery()
		for _, r := range rs {
			p.addResource(r)
		}
		if b.err != nil {
			t.Fatalf("build %s: %v", gv, b.err)
		}
		for ty := range b.seen {
			reached[ty] = true
		}
		for ty := range b.names {
			reached[ty] = true
		}
	}
	return reached
}
