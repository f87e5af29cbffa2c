package controllers

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Claim is how a controller's selector sorts candidate objects (pods of a
// ReplicaSet, ReplicaSets of a Deployment), as Kubernetes'
// ControllerRefManager does.
type Claim[T metav1.Object] struct {
	// Owned are controlled by the owner and match its selector.
	Owned []T
	// Adopt are orphans (no controller) that match: the owner takes them
	// by adding its controller ownerReference.
	Adopt []T
	// Release are controlled by the owner but no longer match: the owner
	// lets go by removing its ownerReference.
	Release []T
}

// ClaimObjects sorts objs for owner: objects of another controller are
// left out; an owner being deleted adopts and releases nothing; objects
// being deleted are neither adopted nor released.
func ClaimObjects[T metav1.Object](owner metav1.Object, selector labels.Selector, objs []T) Claim[T] {
	var c Claim[T]
	deleting := owner.GetDeletionTimestamp() != nil
	for _, o := range objs {
		match := selector.Matches(labels.Set(o.GetLabels()))
		ref := metav1.GetControllerOfNoCopy(o)
		switch {
		case ref != nil && ref.UID != owner.GetUID():
		case ref != nil && match:
			c.Owned = append(c.Owned, o)
		case ref != nil:
			if !deleting && o.GetDeletionTimestamp() == nil {
				c.Release = append(c.Release, o)
			}
		case match && !deleting && o.GetDeletionTimestamp() == nil:
			c.Adopt = append(c.Adopt, o)
		}
	}
	return c
}

// adoptPatch is the strategic merge patch that makes ref the object's
// controller.
func adoptPatch(ref metav1.OwnerReference) []byte {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": []metav1.OwnerReference{ref}}})
	return b
}

// releasePatch is the strategic merge patch that removes the owner's
// reference.
func releasePatch(owner types.UID) []byte {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": owner}},
	}})
	return b
}
