package buildcheck

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		dir    string
		want   []string // a violation holding each, in order
		reason string
	}{
		{"marked", []string{
			`marked.go:5: error "cannot use \"text\"`,
			"marked.go:6 compiles; want an error",
			`marked.go:7: unexpected error "cannot use`,
		}, "a held mark passes; a wrong text, a line that compiles and an unmarked error do not"},
		{"clean", nil, "a package without marks that compiles has nothing to say"},
		{"command", []string{"package main would be linked"}, "go build would write the command into testdata"},
	}
	for _, tt := range tests {
		got := Check(t.Context(), filepath.Join("testdata", tt.dir))
		ok := len(got) == len(tt.want)
		for i := range min(len(got), len(tt.want)) {
			ok = ok && strings.Contains(got[i], tt.want[i])
		}
		if !ok {
			t.Errorf("Check(%s) = %q, want violations holding %q (%s)", tt.dir, got, tt.want, tt.reason)
		}
	}
	if slices.ContainsFunc(Check(t.Context(), filepath.Join("testdata", "marked")), func(v string) bool { return strings.Contains(v, "marked.go:4") }) {
		t.Error("a line whose error holds its mark was reported")
	}
}
