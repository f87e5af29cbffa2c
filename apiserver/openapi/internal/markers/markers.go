// Package markers reads what Go reflection cannot see in API types: the
// comment markers Kubernetes' OpenAPI generator turns into schema
// extensions (+listType, +listMapKey, +mapType, +structType, +optional,
// +required) and, for packages without generated SwaggerDoc methods, the doc
// comments that become descriptions.
//
// It parses the Go source of the packages named (located with `go list`)
// and renders a Go file of data for package openapi. That file is checked
// in; package openapi's tests regenerate it and fail when it is stale. The
// package is used by those tests only, never by the server.
package markers

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Field holds the markers of one struct field.
type Field struct {
	ListType    string
	ListMapKeys []string
	MapType     string
	StructType  string
	Description string
}

// Type holds the markers of one named type and of its fields, keyed by
// JSON name.
type Type struct {
	ListType    string
	ListMapKeys []string
	MapType     string
	StructType  string
	Description string
	// Struct is true for struct types; Required then lists the JSON names
	// of its required fields, decided as Kubernetes' OpenAPI generator
	// does: +required, or neither +optional nor omitempty.
	Struct   bool
	Required []string
	Fields   map[string]Field
}

// PackageDirs returns the source directory of each import path, asking
// `go list` from dir (a directory inside the module).
func PackageDirs(dir string, importPaths []string) (map[string]string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("find go: %w", err)
	}
	args := append([]string{"list", "-f", "{{.ImportPath}}\t{{.Dir}}"}, importPaths...)
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	dirs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, d, ok := strings.Cut(line, "\t")
		if ok {
			dirs[path] = d
		}
	}
	return dirs, nil
}

// Scan parses the non-test Go files of the package in dir and returns the
// markers of its named types, keyed "<importPath>.<TypeName>". With docs
// set, descriptions are read from doc comments too.
func Scan(importPath, dir string, docs bool) (map[string]Type, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read package %s: %w", importPath, err)
	}
	fset := token.NewFileSet()
	out := map[string]Type{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				t := scanType(ts, doc, docs)
				if !t.empty() {
					out[importPath+"."+ts.Name.Name] = t
				}
			}
		}
	}
	return out, nil
}

func scanType(ts *ast.TypeSpec, doc *ast.CommentGroup, docs bool) Type {
	m := parseMarkers(doc)
	t := Type{ListType: m.listType(), ListMapKeys: m.listMapKeys(), MapType: m.get("mapType"), StructType: m.get("structType")}
	if docs {
		t.Description = description(doc)
	}
	st, ok := ts.Type.(*ast.StructType)
	if !ok {
		return t
	}
	t.Struct = true
	for _, field := range st.Fields.List {
		if len(field.Names) == 0 || field.Tag == nil {
			continue // embedded (inline) fields carry their own type's markers
		}
		tag, err := strconv.Unquote(field.Tag.Value)
		if err != nil {
			continue
		}
		jsonName, opts, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
		if jsonName == "" || jsonName == "-" {
			continue
		}
		fm := parseMarkers(field.Doc)
		if fm.has("required") || !fm.has("optional") && !strings.Contains(opts, "omitempty") {
			t.Required = append(t.Required, jsonName)
		}
		f := Field{ListType: fm.listType(), ListMapKeys: fm.listMapKeys(), MapType: fm.get("mapType"), StructType: fm.get("structType")}
		if docs {
			f.Description = description(field.Doc)
		}
		if !f.empty() {
			if t.Fields == nil {
				t.Fields = map[string]Field{}
			}
			t.Fields[jsonName] = f
		}
	}
	return t
}

// commentMarkers are the "+name=value" lines of a comment, with and
// without the "k8s:" prefix kept apart.
type commentMarkers map[string][]string

func parseMarkers(doc *ast.CommentGroup) commentMarkers {
	m := commentMarkers{}
	if doc == nil {
		return m
	}
	for _, c := range doc.List {
		line := strings.TrimSpace(strings.TrimPrefix(c.Text, "//"))
		if !strings.HasPrefix(line, "+") {
			continue
		}
		name, value, _ := strings.Cut(line[1:], "=")
		m[name] = append(m[name], strings.TrimSpace(value))
	}
	return m
}

// get returns a marker's value, preferring the plain form over +k8s:.
func (m commentMarkers) get(name string) string {
	for _, n := range []string{name, "k8s:" + name} {
		if v := m[n]; len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (m commentMarkers) has(name string) bool {
	return m[name] != nil || m["k8s:"+name] != nil
}

func (m commentMarkers) listType() string { return m.get("listType") }

// listMapKeys returns the keys of the form that gave the list type.
func (m commentMarkers) listMapKeys() []string {
	if keys := m["listMapKey"]; len(keys) > 0 {
		return keys
	}
	return m["k8s:listMapKey"]
}

// description joins a doc comment's prose, without markers, as Kubernetes'
// swagger doc generator does: lines of a paragraph joined by spaces,
// paragraphs by a blank line.
func description(doc *ast.CommentGroup) string {
	if doc == nil {
		return ""
	}
	var paragraphs []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paragraphs = append(paragraphs, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, c := range doc.List {
		line := strings.TrimSpace(strings.TrimPrefix(c.Text, "//"))
		switch {
		case strings.HasPrefix(line, "+"), strings.HasPrefix(line, "---"):
			continue
		case line == "":
			flush()
		default:
			cur = append(cur, line)
		}
	}
	flush()
	return strings.Join(paragraphs, "\n\n")
}

func (f Field) empty() bool {
	return f.ListType == "" && len(f.ListMapKeys) == 0 && f.MapType == "" && f.StructType == "" && f.Description == ""
}

func (t Type) empty() bool {
	return !t.Struct && t.ListType == "" && len(t.ListMapKeys) == 0 && t.MapType == "" && t.StructType == "" && t.Description == ""
}

// Render returns the Go source of a file in package pkg declaring
// varName, a function that returns a map[string]typeMarkers literal of
// types, built on its first call (typeMarkers and fieldMarkers are
// declared by that package with the fields of Type and Field): a process
// that never asks for the map does not hold it.
func Render(pkg, varName string, types map[string]Type) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by package markers from the API types' comments. DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package %s\n\nimport \"sync\"\n\n", pkg)
	fmt.Fprintf(&b, "// %s returns the types' markers, built on first use.\n", varName)
	fmt.Fprintf(&b, "var %s = sync.OnceValue(func() map[string]typeMarkers {\nreturn map[string]typeMarkers{\n", varName)
	for _, name := range sortedKeys(types) {
		t := types[name]
		fmt.Fprintf(&b, "%q: {", name)
		writeCommon(&b, t.ListType, t.ListMapKeys, t.MapType, t.StructType, t.Description)
		if t.Struct {
			b.WriteString("Struct: true, ")
		}
		if len(t.Required) > 0 {
			fmt.Fprintf(&b, "Required: %#v, ", t.Required)
		}
		if len(t.Fields) > 0 {
			b.WriteString("Fields: map[string]fieldMarkers{\n")
			for _, fname := range sortedKeys(t.Fields) {
				f := t.Fields[fname]
				fmt.Fprintf(&b, "%q: {", fname)
				writeCommon(&b, f.ListType, f.ListMapKeys, f.MapType, f.StructType, f.Description)
				b.WriteString("},\n")
			}
			b.WriteString("},\n")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n})\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format generated markers: %w", err)
	}
	return src, nil
}

func writeCommon(b *bytes.Buffer, listType string, keys []string, mapType, structType, desc string) {
	if listType != "" {
		fmt.Fprintf(b, "ListType: %q, ", listType)
	}
	if len(keys) > 0 {
		fmt.Fprintf(b, "ListMapKeys: %#v, ", keys)
	}
	if mapType != "" {
		fmt.Fprintf(b, "MapType: %q, ", mapType)
	}
	if structType != "" {
		fmt.Fprintf(b, "StructType: %q, ", structType)
	}
	if desc != "" {
		fmt.Fprintf(b, "Description: %q, ", desc)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
