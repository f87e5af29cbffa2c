package reconciler

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/navarch/navarch/api"
	gitopsv1alpha1 "github.com/navarch/navarch/api/gitops/v1alpha1"
)

// Desired parses a revision's files (Parse) and validates the whole
// revision (Validate): the objects a sync would store, defaulted, and
// every problem of the revision. Objects are planned only when there is
// no problem.
func Desired(files map[string][]byte, targetNamespace string) ([]*Object, Problems) {
	objs, problems := Parse(files, ParseOptions{TargetNamespace: targetNamespace})
	return objs, append(problems, Validate(objs)...)
}

// Validate checks a parsed revision as a whole before anything of it is
// written: it defaults every object in place (api.Default, as the API
// server does first), validates each as a new object (api.Validate), and
// reports objects declared twice, naming both files. Objects that carry
// another Source's ownership annotation are not refused here; the plan
// sees the live owner. An empty result means the revision may be planned.
func Validate(objs []*Object) Problems {
	var problems Problems
	seen := make(map[ObjectKey]string, len(objs))
	for _, o := range objs {
		key := o.Key()
		if first, dup := seen[key]; dup {
			problems = append(problems, Problem{File: o.File, Object: key.String(),
				Message: fmt.Sprintf("declared twice: also in %s", first)})
			continue
		}
		seen[key] = o.File
		api.Default(o.Object)
		problems = append(problems, validateOne(o)...)
	}
	return problems
}

// validateOne checks one defaulted object as the API server checks a
// create: on a copy with the server's bookkeeping filled in.
func validateOne(o *Object) Problems {
	m := metaOf(o.Object)
	var problems Problems
	if m.GetGenerateName() != "" && m.GetName() == "" {
		return Problems{{File: o.File, Object: o.Key().String(), Field: "metadata.generateName",
			Message: "not supported in a Source: every object needs a fixed metadata.name to be kept in sync"}}
	}
	if m.GetResourceVersion() != "" {
		problems = append(problems, Problem{File: o.File, Object: o.Key().String(), Field: "metadata.resourceVersion",
			Message: "must not be set in a manifest"})
	}
	cp := o.Object.DeepCopyObject()
	if err := api.PrepareForCreate(cp, metav1.Unix(0, 0)); err != nil {
		return append(problems, Problem{File: o.File, Object: o.Key().String(), Message: err.Error()})
	}
	return append(problems, fieldProblems(o.File, o.Key().String(), api.Validate(cp))...)
}

// invalidOwnership is the problem of an object that another Source owns.
func invalidOwnership(file string, key ObjectKey, owner string) Problem {
	return Problem{File: file, Object: key.String(), Field: "metadata.annotations[" + gitopsv1alpha1.AnnotationSource + "]",
		Message: fmt.Sprintf("already managed by Source %s; remove it there first", owner)}
}
