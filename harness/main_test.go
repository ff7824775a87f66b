package harness

import (
	"os"
	"testing"
)

// copyDir copies a connector to a temporary directory, for a test to
// change.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}
