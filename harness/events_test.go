package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/report"
)

// runCheck plans the suite over dir and runs its check named name.
func runCheck(t *testing.T, dir, suite, name string, opts ...Option) []report.Finding {
	t.Helper()
	s, err := NewSession(t.Context(), dir, t.TempDir(), append(opts, Drive(InProcess(dealnotify.Setup)), Only(suite))...)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pc := range s.Checks() {
		names = append(names, pc.Name)
		if pc.Name == name {
			fs, err := pc.Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			checkRegistered(t, fs)
			return fs
		}
	}
	t.Fatalf("the %s suite has no check %s; it has %v", suite, name, names)
	return nil
}

// editFile replaces old with new in a connector's file.
func editFile(t *testing.T, dir, rel, old, new string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(rel))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s no longer holds %q; update the test", rel, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An event finding carries the payload's path and the contract's keyword,
// and one problem that every events file shares is one finding.
func TestEventFindingsKeepLocationOnce(t *testing.T) {
	dir := copyDir(t, dealnotifyDir)
	editFile(t, dir, "contracts/crm.openapi.yaml", "    DealIdString:\n      type: string\n", "    DealIdString:\n      type: integer\n")
	fs := runCheck(t, dir, report.SuiteContract, CheckEvents)
	var dealID []report.Finding
	for _, f := range fs {
		if f.Path == "$.data.deal_id" {
			dealID = append(dealID, f)
		}
	}
	if len(dealID) != 1 {
		t.Fatalf("findings at $.data.deal_id: %d (%v); want one, however many events files share it", len(dealID), fs)
	}
	f := dealID[0]
	if f.ID != contracts.RuleEventInvalid || !strings.HasPrefix(f.File, "events/") || f.Contract.File != "contracts/crm.openapi.yaml" || f.Contract.Line != 279 {
		t.Errorf("finding = %+v; want it in an events file, judged at contracts/crm.openapi.yaml:279", f)
	}
	if !strings.Contains(f.Message, "also in events/") {
		t.Errorf("message %q does not name the other events files", f.Message)
	}
	if s := f.String(); !strings.Contains(s, "$.data.deal_id") || !strings.Contains(s, "[contract contracts/crm.openapi.yaml:279:") {
		t.Errorf("rendered %q lacks the path or the contract position", s)
	}
}

// Events are read tolerantly: an event whose only fault is a field the
// schema does not declare is info in the contract suite, and a connector
// may act on it in the negative suite; events.strict restores the error.
func TestUndeclaredEventFieldTolerated(t *testing.T) {
	dir := copyDir(t, dealnotifyDir)
	// dealnotify ignores unknown fields at the top of an event (and
	// refuses them in its data): close the top to the letter.
	editFile(t, dir, "contracts/crm.openapi.yaml", "    DealUpdatedEvent:\n      type: object\n", "    DealUpdatedEvent:\n      type: object\n      additionalProperties: false\n")
	editFile(t, dir, "events/deal-won.yaml", "    type: deal.updated\n", "    type: deal.updated\n    api_version: \"2026-11\"\n")
	fs := runCheck(t, dir, report.SuiteContract, CheckEvents)
	if len(fs) != 1 || fs[0].ID != contracts.RuleEventPropertyUndeclared || fs[0].Level != contracts.LevelInfo || fs[0].Path != "$" {
		t.Errorf("contract suite: %v; want one info %s at $", fs, contracts.RuleEventPropertyUndeclared)
	}
	neg := runCheck(t, dir, report.SuiteNegative, CheckInvalidEvent+"/"+contracts.VariantAdditionalProperty)
	for _, f := range neg {
		if f.Level >= contracts.LevelWarning {
			t.Errorf("negative suite on an undeclared field: %v; a connector may act on such an event", f)
		}
	}

	editFile(t, dir, "connector.yaml", "  signature:", "  strict: true\n  signature:")
	fs = runCheck(t, dir, report.SuiteContract, CheckEvents)
	if len(fs) != 1 || fs[0].ID != contracts.RuleEventInvalid || fs[0].Level != contracts.LevelError {
		t.Errorf("strict contract suite: %v; want one %s", fs, contracts.RuleEventInvalid)
	}
}
