package report_test

import (
	"fmt"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/report"
)

// The gate is a function of a report, a policy and a day: a waiver excuses
// a finding until its expiry date, and the report it returns says why.
func ExampleGate() {
	r := &report.Report{
		Run:    report.RunInfo{Suites: []string{report.SuiteContract}},
		Checks: []report.Check{{Suite: report.SuiteContract, Name: "scopes"}},
		Findings: []report.Finding{{Finding: contracts.Finding{ID: "scope-missing", Level: contracts.LevelError,
			Position: contracts.Position{File: "connector.yaml", Line: 12}, Message: "postMessage needs chat:write"},
			Suite: report.SuiteContract, Check: "scopes"}},
	}
	policy, _ := report.ParsePolicy("gate.yaml", []byte(`waivers:
  - id: scope-missing
    reason: granted by the admin console until the manifest names it
    expires: 2027-01-31
`))
	for _, day := range []string{"2027-01-31", "2027-02-01"} {
		today, _ := time.Parse(time.DateOnly, day)
		g := report.Gate(r, policy, today)
		fmt.Println(day, g.Summary.Status, g.CountLine())
	}
	// Output:
	// 2027-01-31 pass 1 check, 0 failed · 0 errors, 0 warnings, 0 infos, 1 waived · 0 scenarios
	// 2027-02-01 fail 2 checks, 2 failed · 2 errors, 0 warnings, 0 infos · 0 scenarios
}
