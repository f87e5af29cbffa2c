package memruntime_test

import (
	"testing"

	"github.com/navarch/navarch/internal/testimage"
	"github.com/navarch/navarch/kubelet"
	"github.com/navarch/navarch/kubelet/memruntime"
	"github.com/navarch/navarch/kubelet/runtimetest"
)

// testappBehavior simulates the test image's program.
func testappBehavior(argv []string) memruntime.Behavior {
	d := testimage.Describe(argv)
	return memruntime.Behavior{Exits: d.Exits, ExitAfter: d.ExitAfter, ExitCode: d.ExitCode,
		IgnoreSIGTERM: d.IgnoreSIGTERM, Output: d.Output}
}

func TestConformance(t *testing.T) {
	runtimetest.Run(t, func(t *testing.T) kubelet.Runtime {
		rt, err := memruntime.New(memruntime.Options{Behave: testappBehavior})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	})
}
