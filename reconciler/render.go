package reconciler

import (
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// String lists the plan one line per change, then what it leaves alone
// and its problems: the form of `navarch diff --summary` and of the golden
// files of the plan tests.
func (p *Plan) String() string {
	var b strings.Builder
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "%s %s", c.Action, c.Key)
		if c.File != "" {
			fmt.Fprintf(&b, " (%s)", c.File)
		}
		b.WriteString("\n")
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(&b, "skip %s: %s\n", s.Key, s.Reason)
	}
	for _, pr := range p.Problems.Strings() {
		fmt.Fprintf(&b, "problem %s\n", pr)
	}
	created, updated, deleted := p.Counts()
	fmt.Fprintf(&b, "%d to create, %d to update, %d to delete, %d unchanged\n", created, updated, deleted, p.Unchanged)
	return b.String()
}

// Diff renders the plan as a unified diff of YAML documents, one per
// change, between the live object ("a/") and what the plan stores ("b/");
// managedFields, resourceVersion, creationTimestamp and status are left
// out: a sync does not write them.
// A plan without changes renders as "".
func (p *Plan) Diff() (string, error) {
	var b strings.Builder
	for _, c := range p.Changes {
		before, err := diffYAML(c.Live)
		if err != nil {
			return "", err
		}
		after, err := diffYAML(c.Object)
		if err != nil {
			return "", err
		}
		name := strings.ReplaceAll(c.Key.String(), " ", "/")
		from, to := "a/"+name, "b/"+name
		switch c.Action {
		case ActionCreate:
			from = "/dev/null"
		case ActionDelete:
			to = "/dev/null"
		}
		text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: lines(before), B: lines(after),
			FromFile: from, ToFile: to, Context: 3,
		})
		if err != nil {
			return "", err
		}
		b.WriteString(text)
	}
	return b.String(), nil
}

// diffYAML is obj as YAML for a diff; nil is "".
func diffYAML(obj runtime.Object) (string, error) {
	if obj == nil {
		return "", nil
	}
	cp := obj.DeepCopyObject()
	m := metaOf(cp)
	m.SetManagedFields(nil)
	m.SetResourceVersion("")
	out, err := yaml.Marshal(cp)
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		return "", err
	}
	delete(doc, "status")
	if md, ok := doc["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	out, err = yaml.Marshal(doc)
	return string(out), err
}

// lines splits text into lines for difflib; "" has none.
func lines(text string) []string {
	if text == "" {
		return nil
	}
	return difflib.SplitLines(strings.TrimSuffix(text, "\n"))
}
