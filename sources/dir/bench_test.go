package dir_test

import (
	"fmt"
	"testing"

	"github.com/navarch/navarch/sources/dir"
)

func BenchmarkSnapshotOf1000Files(b *testing.B) {
	root := b.TempDir()
	files := map[string]string{}
	for i := 0; i < 1000; i++ {
		files[fmt.Sprintf("app%d/deploy-%d.yaml", i%10, i)] = fmt.Sprintf("kind: Deployment\nmetadata:\n  name: app-%d\n", i)
	}
	writeTree(b, root, files)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rev, _, err := dir.Snapshot(root, "")
		if err != nil || rev.Files != 1000 {
			b.Fatalf("got %d files, %v; want 1000", rev.Files, err)
		}
	}
}
