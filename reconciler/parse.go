package reconciler

import (
	"bufio"
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/navarch/navarch/api"
)

// DefaultNamespace is the namespace of namespaced objects that name none
// when the Source has no spec.targetNamespace.
const DefaultNamespace = "default"

// ParseOptions say how manifests are read.
type ParseOptions struct {
	// TargetNamespace is given to namespaced objects that name no
	// namespace; "" means DefaultNamespace.
	TargetNamespace string
}

// IsManifest reports whether a file at path p (slash-separated, relative
// to spec.path) is read as manifests: a .yaml, .yml or .json file outside
// any dot-folder, and not itself a dot-file.
func IsManifest(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Parse decodes every manifest among files (path → content) with the api
// Scheme: multi-document YAML or JSON, one object per document, strictly
// (unknown kinds, unknown fields and duplicate fields are problems).
// Namespaced objects get their own namespace, else opts.TargetNamespace,
// else DefaultNamespace; cluster-scoped ones get none. Objects come back in
// file order; every problem found is returned, not only the first.
func Parse(files map[string][]byte, opts ParseOptions) ([]*Object, Problems) {
	names := make([]string, 0, len(files))
	for p := range files {
		if IsManifest(p) {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	p := newParser(opts)
	var objs []*Object
	var problems Problems
	for _, name := range names {
		o, ps := p.file(name, files[name])
		objs = append(objs, o...)
		problems = append(problems, ps...)
	}
	return objs, problems
}

// parser holds the strict decoder shared by the files of a revision.
type parser struct {
	opts    ParseOptions
	decoder runtime.Decoder
}

func newParser(opts ParseOptions) *parser {
	if opts.TargetNamespace == "" {
		opts.TargetNamespace = DefaultNamespace
	}
	s := json.NewSerializerWithOptions(json.DefaultMetaFactory, api.Scheme, api.Scheme, json.SerializerOptions{Strict: true})
	return &parser{opts: opts, decoder: s}
}

// file decodes the documents of one file.
func (p *parser) file(name string, content []byte) ([]*Object, Problems) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(content)))
	var objs []*Object
	var problems Problems
	for doc := 1; ; doc++ {
		data, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			problems = append(problems, Problem{File: name, Message: fmt.Sprintf("document %d: %v", doc, err)})
			break
		}
		obj, ps := p.document(name, doc, data)
		if obj != nil {
			objs = append(objs, obj)
		}
		problems = append(problems, ps...)
	}
	return objs, problems
}

// header is what is read of a document before its kind is known.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// document decodes one document; an empty one (only comments) gives
// neither an object nor a problem.
func (p *parser) document(file string, doc int, data []byte) (*Object, Problems) {
	where := func(msg string) Problems {
		return Problems{{File: file, Message: fmt.Sprintf("document %d: %s", doc, msg)}}
	}
	// One conversion to JSON, strict about duplicate keys; everything
	// after reads JSON.
	jsonData, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, where(err.Error())
	}
	if t := bytes.TrimSpace(jsonData); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	var h header
	if err := stdjson.Unmarshal(jsonData, &h); err != nil {
		return nil, where(err.Error())
	}
	switch {
	case h.APIVersion == "" && h.Kind == "":
		return nil, where("apiVersion and kind are not set")
	case h.APIVersion == "":
		return nil, where("apiVersion is not set")
	case h.Kind == "":
		return nil, where("kind is not set")
	}
	gv, err := schema.ParseGroupVersion(h.APIVersion)
	if err != nil {
		return nil, where(err.Error())
	}
	res, ok := api.LookupKind(gv.WithKind(h.Kind))
	if !ok {
		return nil, Problems{{File: file, Object: named(h.Kind, h.Metadata.Namespace, h.Metadata.Name),
			Message: fmt.Sprintf("kind %s of apiVersion %s is not served by navarch", h.Kind, h.APIVersion)}}
	}
	ns := ""
	if res.Namespaced {
		ns = h.Metadata.Namespace
		if ns == "" {
			ns = p.opts.TargetNamespace
		}
	}
	object := named(res.Kind, ns, h.Metadata.Name)
	obj := res.New()
	gvk := res.GroupVersionKind()
	if _, _, err := p.decoder.Decode(jsonData, &gvk, obj); err != nil {
		if strict, ok := runtime.AsStrictDecodingError(err); ok {
			var ps Problems
			for _, e := range strict.Errors() {
				f, msg := strictField(e.Error())
				ps = append(ps, Problem{File: file, Object: object, Field: f, Message: msg})
			}
			return nil, ps
		}
		return nil, Problems{{File: file, Object: object, Message: err.Error()}}
	}
	m := metaOf(obj)
	m.SetNamespace(ns)
	setTypeMeta(obj, res)
	return &Object{File: file, Resource: res, Object: obj}, nil
}

// named is ObjectKey.String for what a header says; a missing name shows
// as "(no name)".
func named(kind, namespace, name string) string {
	if name == "" {
		name = "(no name)"
	}
	return ObjectKey{Kind: kind, Namespace: namespace, Name: name}.String()
}

// strictField splits a strict decoding error (`unknown field "spec.x"`)
// into its field and its message.
func strictField(msg string) (string, string) {
	for _, kind := range []string{"unknown field", "duplicate field"} {
		if rest, ok := strings.CutPrefix(msg, kind+" "); ok {
			return strings.Trim(rest, `"`), kind
		}
	}
	return "", msg
}
