package markers

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const source = `package demo

// Widget is a thing.
//
// It has parts.
// +structType=atomic
type Widget struct {
	// Parts of the widget.
	// +listType=map
	// +listMapKey=name
	// +listMapKey=kind
	Parts []Part ` + "`json:\"parts,omitempty\"`" + `
	// Name is required by default (no omitempty).
	Name string ` + "`json:\"name\"`" + `
	// +optional
	Note string ` + "`json:\"note\"`" + `
	// +required
	ID string ` + "`json:\"id,omitempty\"`" + `
	// +k8s:listType=set
	Tags []string ` + "`json:\"tags,omitempty\"`" + `
	Inline ` + "`json:\",inline\"`" + `
}

type Part struct{ Name string ` + "`json:\"name\"`" + ` }
`

func TestScanReadsMarkersRequiredFieldsAndDocs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo.go"), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Scan("example.com/demo", dir, true)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	w := got["example.com/demo.Widget"]
	if w.StructType != "atomic" || w.Description != "Widget is a thing.\n\nIt has parts." {
		t.Errorf("got type markers %+v", w)
	}
	if want := []string{"name", "id"}; !reflect.DeepEqual(w.Required, want) {
		t.Errorf("got required %v, want %v", w.Required, want)
	}
	if p := w.Fields["parts"]; p.ListType != "map" || !reflect.DeepEqual(p.ListMapKeys, []string{"name", "kind"}) || p.Description != "Parts of the widget." {
		t.Errorf("got parts markers %+v", p)
	}
	if tags := w.Fields["tags"]; tags.ListType != "set" {
		t.Errorf("got tags markers %+v, want the +k8s: form read", tags)
	}
	src, err := Render("demo", "generated", got)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if !strings.Contains(string(src), `"example.com/demo.Part": {Struct: true, Required: []string{"name"}}`) {
		t.Errorf("rendered source lacks Part:\n%s", src)
	}
}
