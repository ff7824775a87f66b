package harness

import (
	"os"
	"regexp"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/report"
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

// registered is every rule ID tether knows, from Rules.
var registered = func() map[string]bool {
	ids := map[string]bool{}
	for _, r := range Rules() {
		ids[r.ID] = true
	}
	return ids
}()

// checkRegistered fails t for each finding whose ID is not a registered
// rule.
func checkRegistered(t *testing.T, fs []report.Finding) {
	t.Helper()
	for _, f := range fs {
		if !registered[f.ID] {
			t.Errorf("finding %s carries the ID %q, which no rules table registers", f, f.ID)
		}
	}
}

// TestRulesRegistry: every rule has a kebab-case ID given once, a level
// and a summary.
func TestRulesRegistry(t *testing.T) {
	seen := map[string]bool{}
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	rules := Rules()
	if len(rules) < 400 {
		t.Errorf("only %d rules registered", len(rules))
	}
	for _, r := range rules {
		if seen[r.ID] {
			t.Errorf("rule %s is registered twice", r.ID)
		}
		seen[r.ID] = true
		if !kebab.MatchString(r.ID) || r.Summary == "" || r.Level < contracts.LevelInfo || r.Level > contracts.LevelError {
			t.Errorf("rule %+v: want a kebab-case ID, a level and a summary", r)
		}
	}
}
