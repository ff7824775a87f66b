package report

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tetherkit/tether/contracts"
)

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy("gate.yaml", []byte(`fail-on: [error, warning]
waivers:
  - id: scope-unused
    suite: contract
    reason: granted for the next release
    expires: 2027-01-31
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.FailOn) != 2 || len(p.Waivers) != 1 || p.Waivers[0].line != 3 {
		t.Errorf("parsed %+v", p)
	}
	if p, err := ParsePolicy("empty.yaml", nil); err != nil || len(p.FailOn) != 1 || p.FailOn[0] != "error" {
		t.Errorf("an empty policy: %+v, %v; want the default, failing on errors", p, err)
	}
	bad := []struct{ name, data, want string }{
		{"unknown field", "fail_on: [error]\n", "gate.yaml:1: unknown field fail_on"},
		{"level", "fail-on: [fatal]\n", `gate.yaml:1: fail-on: "fatal" is not a level`},
		{"no id", "waivers:\n  - reason: r\n    expires: 2027-01-01\n", "gate.yaml:2: waiver 1: id is missing"},
		{"no reason", "waivers:\n  - id: x\n    expires: 2027-01-01\n", "gate.yaml:2: waiver 1: reason is missing"},
		{"bad date", "waivers:\n  - id: x\n    reason: r\n    expires: next week\n", `gate.yaml:2: waiver 1: expires "next week"`},
		{"bad suite", "waivers:\n  - id: x\n    reason: r\n    suite: compat\n    expires: 2027-01-01\n", `suite "compat" is not one of`},
		{"syntax", "waivers: [\n", "gate.yaml:"},
	}
	for _, tc := range bad {
		if _, err := ParsePolicy("gate.yaml", []byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// policyReport is a report with one error and one warning.
func policyReport() *Report {
	return &Report{
		Run:    RunInfo{Suites: []string{SuiteContract, SuiteNegative, SuiteReplay}},
		Checks: []Check{{Suite: SuiteContract, Name: "scopes"}, {Suite: SuiteReplay, Scenario: "won", Name: "golden"}},
		Findings: []Finding{
			{Finding: contracts.Finding{ID: "scope-unused", Level: contracts.LevelWarning, Message: "chat:read is declared"}, Suite: SuiteContract, Check: "scopes"},
			{Finding: contracts.Finding{ID: "golden-mismatch", Level: contracts.LevelError, Message: "call 1 differs"}, Suite: SuiteReplay, Scenario: "won", Check: "golden"},
		},
	}
}

func TestPolicyApply(t *testing.T) {
	today := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name, policy string
		status       string
		errors       int
		waived       int
	}{
		{"default: the error fails", "", StatusFail, 1, 0},
		{"the error waived", "waivers:\n  - {id: golden-mismatch, scenario: won, reason: vendor reorders fields, expires: 2026-12-31}\n", StatusPass, 0, 1},
		{"a waiver for another scenario", "waivers:\n  - {id: golden-mismatch, scenario: lost, reason: r, expires: 2026-12-31}\n", StatusFail, 1, 0},
		{"a waiver on its last day", "waivers:\n  - {id: golden-mismatch, reason: r, expires: 2026-11-27}\n", StatusPass, 0, 1},
		{"an expired waiver fails", "waivers:\n  - {id: golden-mismatch, reason: r, expires: 2026-11-26}\n", StatusFail, 2, 0},
		{"warnings fail when asked", "fail-on: [error, warning]\nwaivers:\n  - {id: golden-mismatch, reason: r, expires: 2027-01-01}\n", StatusFail, 0, 1},
	}
	for _, tc := range tests {
		p, err := ParsePolicy("gate.yaml", []byte(tc.policy))
		if err != nil {
			t.Fatal(err)
		}
		before := policyReport()
		r := Gate(before, p, today)
		if !reflect.DeepEqual(before, policyReport()) {
			t.Errorf("%s: Gate changed the report it was given", tc.name)
		}
		if r.Summary.Status != tc.status || r.Summary.Errors != tc.errors || r.Summary.Waived != tc.waived {
			t.Errorf("%s: status %s, %d errors, %d waived; want %s, %d, %d", tc.name, r.Summary.Status, r.Summary.Errors, r.Summary.Waived, tc.status, tc.errors, tc.waived)
		}
	}
}
