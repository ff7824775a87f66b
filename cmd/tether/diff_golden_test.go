package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.* with what the commands print now")

// TestDiffFormatsGolden pins every format of tether diff, as CI systems and
// people read them, for one pair of contracts with changes of each level,
// and for the same pair folded by what the example connector uses.
func TestDiffFormatsGolden(t *testing.T) {
	for _, format := range []string{"text", "json", "markdown", "junit", "githubactions"} {
		for _, tc := range []struct {
			name string
			args []string
		}{
			{"pets", []string{petsBase, petsRevision}},
			{"odd", []string{oddBase, oddRevision}},
		} {
			code, out, errs := runCLI(append([]string{"diff", "--format", format}, tc.args...)...)
			if code == exitCannot {
				t.Fatalf("diff %v --format %s: %s", tc.args, format, errs)
			}
			path := filepath.Join("testdata", "diff."+tc.name+".golden."+format)
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/tether -run DiffFormatsGolden -update to write it)", err)
			}
			if out != string(want) {
				t.Errorf("diff --format %s of %s differs from %s; if the change is meant, run with -update and review the diff:\n%s", format, tc.name, path, out)
			}
		}
	}
}
