package api

import (
	"testing"
)

// BenchmarkAdmitDeployment measures what the API server and the reconciler
// spend on each Deployment they admit: Default, PrepareForCreate and
// Validate.
func BenchmarkAdmitDeployment(b *testing.B) {
	d := validDeployment()
	b.ReportAllocs()
	for b.Loop() {
		obj := d.DeepCopy()
		Default(obj)
		if err := PrepareForCreate(obj, testNow); err != nil {
			b.Fatal(err)
		}
		if errs := Validate(obj); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// BenchmarkValidatePodUpdate measures ValidateUpdate of a pod whose image
// changed.
func BenchmarkValidatePodUpdate(b *testing.B) {
	old := validPod()
	old.ResourceVersion = "1"
	obj := old.DeepCopy()
	obj.Spec.Containers[0].Image = "nginx:1.28"
	b.ReportAllocs()
	for b.Loop() {
		if errs := ValidateUpdate(obj, old); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
