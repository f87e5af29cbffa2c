package reconciler

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/navarch/navarch/sources/dir"
)

func TestParseReadsManifestsOnlyAndFillsNamespaces(t *testing.T) {
	files := map[string][]byte{
		"README.md":            []byte("# not a manifest"),
		".github/ci.yaml":      []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hidden}\n"),
		"apps/.draft.yaml":     []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: draft}\n"),
		"apps/notes.txt":       []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: txt}\n"),
		"apps/namespace.yml":   []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, namespace: ignored}\n"),
		"apps/settings.json":   []byte(`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "json", "namespace": "shop"}}`),
		"apps/multi.yaml":      []byte("# comment only\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: own, namespace: shop}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: target}\n"),
		"apps/web/Deploy.YAML": []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}\n"),
	}
	objs, problems := Parse(files, ParseOptions{TargetNamespace: "team"})
	if len(problems) > 0 {
		t.Fatalf("got problems %v, want none", problems.Strings())
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.File+": "+o.Key().String())
	}
	want := []string{
		"apps/multi.yaml: ConfigMap shop/own",
		"apps/multi.yaml: ConfigMap team/target",
		"apps/namespace.yml: Namespace shop",
		"apps/settings.json: ConfigMap shop/json",
		"apps/web/Deploy.YAML: Deployment team/web",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got objects\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if gvk := objs[4].Object.GetObjectKind().GroupVersionKind(); gvk.Kind != "Deployment" || gvk.Group != "apps" {
		t.Errorf("got type %v, want apps/v1 Deployment", gvk)
	}
}

func TestParseWithoutTargetNamespaceUsesDefault(t *testing.T) {
	objs, problems := Parse(map[string][]byte{"a.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")}, ParseOptions{})
	if len(problems) > 0 || len(objs) != 1 {
		t.Fatalf("got %d objects and problems %v, want 1 and none", len(objs), problems.Strings())
	}
	if ns := objs[0].Key().Namespace; ns != "default" {
		t.Errorf("got namespace %q, want default", ns)
	}
}

func TestInvalidRevisionsReportEveryProblemWithFileObjectAndField(t *testing.T) {
	deployment := func(name, extra string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + ", namespace: shop}\nspec:\n" + extra +
			"  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: hello}]}\n"
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "an unknown kind",
			files: map[string]string{"crd.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n"},
			want:  []string{"crd.yaml: Widget shop/w: kind Widget of apiVersion example.com/v1 is not served by navarch"},
		},
		{
			name:  "an unknown field",
			files: map[string]string{"web.yaml": deployment("web", "  replica: 3\n")},
			want:  []string{"web.yaml: Deployment shop/web: spec.replica: unknown field"},
		},
		{
			name:  "a negative replica count",
			files: map[string]string{"web.yaml": deployment("web", "  replicas: -1\n")},
			want:  []string{"web.yaml: Deployment shop/web: spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
		},
		{
			name: "the same object in two files",
			files: map[string]string{
				"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n",
				"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n",
			},
			want: []string{"b.yaml: ConfigMap shop/c: declared twice: also in a.yaml"},
		},
		{
			name:  "a document without kind",
			files: map[string]string{"x.yaml": "apiVersion: v1\nmetadata: {name: c}\n"},
			want:  []string{"x.yaml: document 1: kind is not set"},
		},
		{
			name:  "a YAML syntax error",
			files: map[string]string{"x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c\n"},
			want:  []string{"x.yaml: document 1: yaml: line 3: did not find expected ',' or '}'"},
		},
		{
			name:  "a missing name",
			files: map[string]string{"x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: shop}\n"},
			want:  []string{"x.yaml: ConfigMap shop/: metadata.name: Required value: name or generateName is required"},
		},
		{
			name: "one bad manifest among good ones",
			files: map[string]string{
				"apps/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n",
				"apps/b.yaml": deployment("b", "  replicas: 2\n"),
				"apps/c.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: c, namespace: shop}\nspec: {ports: [{port: 70000}]}\n",
			},
			// targetPort defaults to port, and is wrong too, as in Kubernetes.
			want: []string{
				"apps/c.yaml: Service shop/c: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
				"apps/c.yaml: Service shop/c: spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, problems := Parse(toFiles(tt.files), ParseOptions{})
			problems = append(problems, Validate(objs)...)
			got := problems.Strings()
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got problems\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestProblemSummaryNamesTheProblems(t *testing.T) {
	ps := Problems{{File: "b.yaml", Object: "ConfigMap shop/b", Field: "data", Message: "bad"}, {File: "a.yaml", Message: "document 1: kind is not set"}}
	got := ps.Summary()
	want := "revision is invalid, nothing was applied: 2 problems: a.yaml: document 1: kind is not set; b.yaml: ConfigMap shop/b: data: bad"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestExamplesRepoIsAValidRevision(t *testing.T) {
	_, files, err := dir.Snapshot("../examples-repo", "apps")
	if err != nil {
		t.Fatal(err)
	}
	objs, problems := Parse(files, ParseOptions{})
	problems = append(problems, Validate(objs)...)
	if len(problems) > 0 {
		t.Fatalf("examples-repo: %v", problems.Strings())
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Key().String())
	}
	sort.Strings(got)
	want := []string{"ConfigMap hello/hello-settings", "Deployment hello/api", "Deployment hello/web", "Namespace hello", "Service hello/api", "Service hello/web"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got objects %v, want %v", got, want)
	}
}
