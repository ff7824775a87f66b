package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/harness/report"
)

// negativeChecks plans the negative suite over dir and returns its check
// names and the findings of its derive check.
func negativeChecks(t *testing.T, dir string, opts ...Option) ([]string, []report.Finding) {
	t.Helper()
	s, err := NewSession(t.Context(), dir, t.TempDir(), append(opts, Drive(InProcess(dealnotify.Setup)), Only(report.SuiteNegative))...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var derive []report.Finding
	for _, pc := range s.Checks() {
		names = append(names, pc.Name)
		if pc.Name == "derive" {
			if derive, err = pc.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			checkRegistered(t, derive)
		}
	}
	return names, derive
}

// A first run with -update, before any golden file exists, derives the
// negative cases from the same scenario as later runs (its cassettes say
// what it calls), plans the same checks, and says which scenario it is.
func TestNegativeBaseWithoutGoldenFiles(t *testing.T) {
	want, derive := negativeChecks(t, dealnotifyDir)
	if len(derive) != 1 || derive[0].ID != RuleNegativeBase || !strings.Contains(derive[0].Message, "scenario stage-sequence,") {
		t.Fatalf("the derive check found %v; want one %s naming scenario stage-sequence", derive, RuleNegativeBase)
	}

	dir := copyDir(t, dealnotifyDir)
	if err := os.RemoveAll(filepath.Join(dir, "golden")); err != nil {
		t.Fatal(err)
	}
	got, derive := negativeChecks(t, dir, Update(true))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("with no golden files the negative suite plans %d checks:\n%v\nwant the %d of later runs:\n%v", len(got), got, len(want), want)
	}
	if len(derive) != 1 || !strings.Contains(derive[0].Message, "scenario stage-sequence, which calls crm.getDeal, chat.postMessage") {
		t.Errorf("the derive check found %v", derive)
	}
}

// When the base scenario does not call an operation other scenarios call,
// the negative suite says its coverage is reduced and what it misses.
func TestNegativeCoverageReduced(t *testing.T) {
	dir := copyDir(t, dealnotifyDir)
	if err := os.RemoveAll(filepath.Join(dir, "golden")); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []string{"won", "stage-sequence", "duplicate"} {
		path := filepath.Join(dir, "scenarios", sc+".yaml")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if !strings.HasPrefix(line, "  chat: [cassettes/chat-post-message.yaml") {
				kept = append(kept, line)
			}
		}
		without := strings.Join(kept, "")
		if without == string(data) {
			t.Fatalf("scenario %s names no chat cassette; update the test", sc)
		}
		os.WriteFile(path, []byte(without), 0o644)
	}
	_, derive := negativeChecks(t, dir, Update(true))
	var reduced []string
	for _, f := range derive {
		if f.ID == RuleNegativeCoverageReduced {
			reduced = append(reduced, f.Message)
		}
	}
	if len(reduced) != 1 || !strings.Contains(reduced[0], "no negative case exercises chat.postMessage, which scenario(s) chat-rate-limited call") {
		t.Errorf("the derive check found %v; want %s naming chat.postMessage", derive, RuleNegativeCoverageReduced)
	}
}
