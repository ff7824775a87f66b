// Package report holds the data of one run over a connector (a [Report]:
// findings, per-suite results, metrics, versions, seed), the gate that
// passes or fails it under a [Policy] ([Gate], a pure function of the two),
// and its renderers, one per format: JSON, JUnit XML, Markdown and HTML.
package report

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
)

// Version is the version of the [Report] format. It changes when a field
// changes meaning or goes away; new fields do not change it. Version 2
// gives findings a structured position in place of a location string.
const Version = 2

// Report is the data of one run over a connector: what was run, with what,
// every finding, and the result of each suite, scenario and check. Every
// renderer (JSON, JUnit XML, Markdown, HTML) reads this structure alone.
//
// Its JSON form (see [Report.JSON]) is a function of the inputs and the
// seed: no wall-clock time, no duration, no absolute path, and everything
// in a fixed order, so that the same inputs and seed give a byte-identical
// file. Timings are kept in the structure, outside that form: in
// [Report.Timings], which [Report.TimingsJSON] writes on its own, and in
// the renderers meant for people.
type Report struct {
	Version   int           `json:"version"`
	Connector ConnectorInfo `json:"connector"`
	Run       RunInfo       `json:"run"`
	// Inputs are the files the run read, with their digests.
	Inputs []manifest.Input `json:"inputs"`
	Tools  Tools            `json:"tools"`

	Summary   Summary          `json:"summary"`
	Suites    []SuiteReport    `json:"suites"`
	Scenarios []ScenarioReport `json:"scenarios"`
	// Cases are the runs suites derived from the scenarios, with their
	// timelines.
	Cases []CaseReport `json:"cases,omitempty"`
	// Checks are the unit a CI system sees: one per check per scenario
	// (or per connector, for checks that are not about a scenario).
	Checks   []Check        `json:"checks"`
	Findings []Finding      `json:"findings"`
	Metrics  MetricsSummary `json:"metrics"`
	// Coverage is what of the vendor and event contracts the connector
	// uses and the suites exercised; nil when it was not measured.
	Coverage *Coverage `json:"coverage,omitempty"`
	// Compatibility is the comparison with the first baseline release
	// (the previous one), when the compatibility suite ran.
	Compatibility *compat.ReleaseComparison `json:"compatibility,omitempty"`
	// Releases is the compatibility matrix: one row per baseline release
	// (the window), one column per part of the comparison.
	Releases []ReleaseRow `json:"releases,omitempty"`

	// Timings are not part of the JSON form; see the type's doc.
	Timings Timings `json:"-"`
}

// ConnectorInfo names the connector a report is about.
type ConnectorInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Summary string `json:"summary,omitempty"`
	// Dir is the connector's directory as given, relative when it was.
	Dir string `json:"dir"`
}

// RunInfo says how the run was made.
type RunInfo struct {
	Seed    uint64   `json:"seed"`
	Target  string   `json:"target"`  // in-process, process or container
	Sandbox string   `json:"sandbox"` // inproc or container
	Suites  []string `json:"suites"`  // the suites run, in order
	// Policy is the policy the report was gated with.
	Policy PolicyRef `json:"policy"`
}

// PolicyRef names the policy a report was gated with, so that a later
// gate can tell whether it applies the same one.
type PolicyRef struct {
	// File is the policy's file, relative to the connector when it is
	// the connector's own; empty for the default policy.
	File string `json:"file,omitempty"`
	// Digest is the SHA-256 of the file's bytes; empty for the default.
	Digest string   `json:"sha256,omitempty"`
	FailOn []string `json:"fail-on"`
}

// Tools are the versions of what made the report.
type Tools struct {
	Tether string `json:"tether"`
	Go     string `json:"go"`
	// Modules maps the module path of each dependency that shapes results
	// (contract parsing and validation, cassettes, diffs) to its version.
	Modules map[string]string `json:"modules"`
}

// Statuses of a check, scenario, suite and run.
const (
	StatusPass = "pass"
	StatusFail = "fail"
	StatusSkip = "skip"
)

// Summary is the run's result in numbers.
type Summary struct {
	Status   string `json:"status"` // pass or fail: fail when any error finding is not waived
	Errors   int    `json:"errors"`
	Warnings int    `json:"warnings"`
	Infos    int    `json:"infos"`
	Waived   int    `json:"waived"`
	Checks   int    `json:"checks"`
	Failed   int    `json:"failed"` // checks that failed
}

// SuiteReport is the result of one suite.
type SuiteReport struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Checks   int    `json:"checks"`
	Failed   int    `json:"failed"`
	Errors   int    `json:"errors"`
	Warnings int    `json:"warnings"`
}

// ScenarioReport is the result of one scenario across the suites.
type ScenarioReport struct {
	Name        string `json:"name"`
	File        string `json:"file"`
	Description string `json:"description,omitempty"`
	Status      string `json:"status"`
	Expected    string `json:"expected_outcome"`
	// Outcomes are the connector's answers, one per delivery, in order.
	Outcomes []string `json:"outcomes"`
	Calls    int      `json:"calls"`
	// Diff lists how the calls differ from the golden file, one line per
	// difference, as replay.Difference renders it.
	Diff []string `json:"diff,omitempty"`
	// Timeline is what happened in the run, in order: each delivery
	// attempt, each vendor call, each Retry-After wait, each dead letter.
	Timeline []Step `json:"timeline,omitempty"`
}

// CaseReport is one case a suite derived from a scenario (the negative
// suite's error statuses, transport faults, duplicates...), with what
// happened in its run. Its status is that of its check.
type CaseReport struct {
	Suite    string `json:"suite"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	Timeline []Step `json:"timeline"`
}

// Kinds of a [Step].
const (
	StepDelivery   = "delivery"    // an attempt to deliver an event to the connector
	StepCall       = "call"        // a call of the connector to a vendor
	StepWait       = "wait"        // a vendor asked the connector to wait (Retry-After)
	StepDeadLetter = "dead-letter" // the connector gave an event up into its dead-letter sink
)

// Step is one thing that happened in a scenario's run. Steps carry no
// time, so that the same run gives the same steps; their order is the
// order things happened in.
type Step struct {
	Kind string `json:"kind"`
	// Label names what the step was about: the event, "vendor operation",
	// or the dead letter's event ID.
	Label string `json:"label"`
	// Attempt counts the attempts: of the delivery, or of the same call
	// within one delivery (2 and more are retries).
	Attempt int `json:"attempt,omitempty"`
	Status  int `json:"status,omitempty"`
	// Result is a delivery's outcome, a call's transport fault (timeout,
	// reset, malformed, truncated; empty for an answer), a wait's
	// Retry-After value, a dead letter's error class.
	Result string `json:"result,omitempty"`
}

// Failed says whether the step shows something going wrong: an error
// answer, no answer, a fault, a dead letter.
func (s Step) Failed() bool {
	switch s.Kind {
	case StepDeadLetter:
		return true
	case StepWait:
		return false
	}
	return s.Status == 0 || s.Status >= 400 || s.Kind == StepCall && s.Result != ""
}

// Check is one check of one scenario (Scenario empty for a check of the
// whole connector), as a CI system shows it: a test case.
type Check struct {
	Suite    string `json:"suite"`
	Scenario string `json:"scenario,omitempty"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	// Findings are the indexes in Report.Findings of the check's findings.
	Findings []int `json:"findings,omitempty"`
}

// MetricsSummary is what the connector's SDK counted, over the run, and
// what the harness saw of its answers. The counts are deterministic;
// latency and lag are in [Timings].
type MetricsSummary struct {
	Deliveries  int              `json:"deliveries"`
	Handled     int64            `json:"handled"`
	Failed      int64            `json:"failed"`
	Duplicates  int64            `json:"duplicates"`
	Retries     int64            `json:"retries"`
	SuccessRate float64          `json:"success_rate"` // handled / (handled + failed)
	Errors      map[string]int64 `json:"errors"`       // failed deliveries by class
}

// Timings are the durations of a run: real, so never the same twice.
type Timings struct {
	Total     time.Duration            `json:"total_ns"`
	Suites    map[string]time.Duration `json:"suites_ns"`
	Scenarios map[string]time.Duration `json:"scenarios_ns"`
	// LatencyP50 and LatencyP95 are of the connector's answers to
	// deliveries, as the sandbox measured them.
	LatencyP50 time.Duration `json:"latency_p50_ns"`
	LatencyP95 time.Duration `json:"latency_p95_ns"`
	// LagMean is the mean webhook lag the SDK counted: receipt time minus
	// signing time.
	LagMean time.Duration `json:"lag_mean_ns"`
}

// JSON is the report's deterministic JSON form, indented, ending in a
// newline.
func (r *Report) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// TimingsJSON is the report's timings as indented JSON.
func (r *Report) TimingsJSON() ([]byte, error) {
	data, err := json.MarshalIndent(r.Timings, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Suites, in the order a report lists them.
const (
	SuiteContract      = "contract"
	SuiteNegative      = "negative"
	SuiteReplay        = "replay"
	SuiteCompatibility = "compatibility"
)

// Suites are the suites a report can hold, in its order.
var Suites = []string{SuiteContract, SuiteNegative, SuiteReplay, SuiteCompatibility}

// Checks of the compatibility suite, which are the columns of a
// [ReleaseRow].
const (
	CheckContractChanges = "contract-changes" // vendor contract changes that affect the connector
	CheckConfigChanges   = "config-changes"   // configurations of the baseline still accepted
	CheckManifestChanges = "manifest-changes" // scopes, events, vendors, support
	CheckSemver          = "semver"           // the version rises as much as the changes need
	CheckBaselineReplay  = "baseline-replay"  // the baseline's scenarios against this connector
)

// Finding is a finding of a run: what was found, and where in the run: the
// suite, the scenario (empty for the connector as a whole) and the check.
type Finding struct {
	contracts.Finding
	Suite    string `json:"suite,omitempty"`
	Scenario string `json:"scenario,omitempty"`
	Check    string `json:"check,omitempty"`
	// Waived holds the reason of the policy's waiver, when one applies;
	// a waived finding does not fail the gate.
	Waived string `json:"waived,omitempty"`
}

// String renders the finding on one line, as a test's log shows it:
// "error golden-mismatch at golden/won.json: call 1 differs (hint)".
func (f Finding) String() string {
	s := f.Level.String() + " " + f.ID
	if f.Position.Known() {
		s += " at " + f.Position.String()
	}
	if f.Path != "" {
		s += " " + f.Path
	}
	s += ": " + f.Message
	if c := f.ContractShown(); c != "" {
		s += " [contract " + c + "]"
	}
	if f.Hint != "" {
		s += " (" + f.Hint + ")"
	}
	return s
}

// ContractShown is the contract position renderers show beside the finding's own,
// "" when it adds nothing.
func (f Finding) ContractShown() string {
	if !f.Contract.Known() || f.Contract == f.Position {
		return ""
	}
	return f.Contract.String()
}

// ReleaseRow is one row of the compatibility matrix: a baseline release
// and the status (pass or fail) of each part of the comparison with it.
type ReleaseRow struct {
	Release  string `json:"release"`
	Version  string `json:"version"`
	Contract string `json:"contract"`
	Config   string `json:"config"`
	Manifest string `json:"manifest"`
	Replay   string `json:"replay"`
	Semver   string `json:"semver"`
}

// Passed reports whether every part of the row passed.
func (w ReleaseRow) Passed() bool {
	for _, s := range []string{w.Contract, w.Config, w.Manifest, w.Replay, w.Semver} {
		if s != StatusPass {
			return false
		}
	}
	return true
}

// fill sets the row's statuses from the compatibility checks of its
// release; a check that is missing (it could not run) is a fail.
func (row *ReleaseRow) fill(checks []Check) {
	cols := map[string]*string{CheckContractChanges: &row.Contract, CheckConfigChanges: &row.Config,
		CheckManifestChanges: &row.Manifest, CheckBaselineReplay: &row.Replay, CheckSemver: &row.Semver}
	for _, ch := range checks {
		if ch.Suite == SuiteCompatibility && ch.Scenario == row.Release {
			if col, ok := cols[ch.Name]; ok {
				*col = ch.Status
			}
		}
	}
	for _, col := range cols {
		if *col == "" {
			*col = StatusFail
		}
	}
}
