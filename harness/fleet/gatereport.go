package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/internal/junit"
	"github.com/tetherkit/tether/internal/markdown"
)

// GateVersion is the version of the [GateReport] format.
const GateVersion = 1

// Statuses of a connector in a fleet gate, beyond the report's pass and
// fail.
const StatusError = "error" // the gate could not run on it

// GateReport is a fleet gate's result: each connector's report, sorted by
// connector, and the fleet's every connector, which every shard lists the
// same. It holds nothing of how the fleet was split or how long anything
// took (those are in Shard, dropped by [Merge], and in [Timings]), so the
// shards of a run merge to the bytes one unsharded run writes.
type GateReport struct {
	Version int    `json:"version"`
	Fleet   string `json:"fleet"`
	// Connectors are the names of every connector in the fleet.
	Connectors []string `json:"connectors"`
	// Shard is the slice this report covers, "K/N"; empty for a whole
	// fleet's report.
	Shard   string       `json:"shard,omitempty"`
	Results []GateResult `json:"results"`
	Summary GateSummary  `json:"summary"`
}

// GateResult is one connector's gate.
type GateResult struct {
	Connector string `json:"connector"` // its directory's name in the fleet
	Status    string `json:"status"`    // pass, fail or error
	Name      string `json:"name,omitempty"`
	Version   string `json:"version,omitempty"`
	Checks    int    `json:"checks"`
	Failed    int    `json:"failed"`
	Errors    int    `json:"errors"`
	Warnings  int    `json:"warnings"`
	// Failing are the unwaived error findings, one line each.
	Failing []string `json:"failing,omitempty"`
	// Error says why the gate could not run.
	Error string `json:"error,omitempty"`
	// Report is the connector's report.json.
	Report json.RawMessage `json:"report,omitempty"`
}

// GateSummary counts the connectors by status.
type GateSummary struct {
	Status     string `json:"status"` // pass, fail (a connector failed) or error (one could not run)
	Connectors int    `json:"connectors"`
	Passed     int    `json:"passed"`
	Failed     int    `json:"failed"`
	Errors     int    `json:"errors"`
}

// ResultOf is the result of a connector's gate, from its report.
func ResultOf(connector string, rep *report.Report) (GateResult, error) {
	data, err := rep.JSON()
	if err != nil {
		return GateResult{}, err
	}
	res := GateResult{Connector: connector, Status: rep.Summary.Status, Name: rep.Connector.Name, Version: rep.Connector.Version,
		Checks: rep.Summary.Checks, Failed: rep.Summary.Failed, Errors: rep.Summary.Errors, Warnings: rep.Summary.Warnings, Report: data}
	for _, f := range rep.Findings {
		if f.Level == contracts.LevelError && f.Waived == "" {
			res.Failing = append(res.Failing, fmt.Sprintf("%s %s: %s", f.ID, f.Position.String(), f.Message))
		}
	}
	return res, nil
}

// ErrorResult is the result of a connector the gate could not run on.
func ErrorResult(connector string, err error) GateResult {
	return GateResult{Connector: connector, Status: StatusError, Error: err.Error()}
}

// NewGateReport is the report of results over a fleet whose connectors
// are all; shard is the slice covered, nil for the whole fleet.
func NewGateReport(fleetDir string, all []string, shard *Shard, results []GateResult) *GateReport {
	r := &GateReport{Version: GateVersion, Fleet: fleetDir, Connectors: slices.Sorted(slices.Values(all)), Results: slices.Clone(results)}
	if r.Results == nil {
		r.Results = []GateResult{}
	}
	if shard != nil {
		r.Shard = shard.String()
	}
	r.summarise()
	return r
}

func (r *GateReport) summarise() {
	slices.SortFunc(r.Results, func(a, b GateResult) int { return strings.Compare(a.Connector, b.Connector) })
	s := GateSummary{Connectors: len(r.Results)}
	for _, res := range r.Results {
		switch res.Status {
		case report.StatusPass:
			s.Passed++
		case report.StatusFail:
			s.Failed++
		default:
			s.Errors++
		}
	}
	switch {
	case s.Errors > 0:
		s.Status = StatusError
	case s.Failed > 0:
		s.Status = report.StatusFail
	default:
		s.Status = report.StatusPass
	}
	r.Summary = s
}

// maxGateReport bounds what ParseGateReport reads.
const maxGateReport = 256 << 20

// ParseGateReport reads a fleet gate's report.json, named file in errors.
// It refuses a file over 256 MiB, unknown fields, another format version,
// a result for a connector the fleet does not list or listed twice, and a
// status other than pass, fail or error.
func ParseGateReport(file string, data []byte) (*GateReport, error) {
	if len(data) > maxGateReport {
		return nil, fmt.Errorf("%s: %d bytes, over the %d MiB a fleet report may have", file, len(data), maxGateReport>>20)
	}
	var r GateReport
	if err := decodeStrict(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a fleet gate report: %w", file, err)
	}
	if r.Version != GateVersion {
		return nil, fmt.Errorf("%s: fleet report version %d; this tether reads version %d", file, r.Version, GateVersion)
	}
	if r.Shard != "" {
		if _, err := ParseShard(r.Shard); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	fleet := map[string]bool{}
	for _, c := range r.Connectors {
		if fleet[c] {
			return nil, fmt.Errorf("%s: connector %q is listed twice in the fleet", file, c)
		}
		fleet[c] = true
	}
	seen := map[string]bool{}
	for _, res := range r.Results {
		switch {
		case !fleet[res.Connector]:
			return nil, fmt.Errorf("%s: a result for %q, which the fleet does not list", file, res.Connector)
		case seen[res.Connector]:
			return nil, fmt.Errorf("%s: two results for %q", file, res.Connector)
		case res.Status != report.StatusPass && res.Status != report.StatusFail && res.Status != StatusError:
			return nil, fmt.Errorf("%s: %q has status %q; a result is pass, fail or error", file, res.Connector, res.Status)
		}
		if err := checkResult(res); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", file, res.Connector, err)
		}
		seen[res.Connector] = true
	}
	if r.Results == nil {
		r.Results = []GateResult{}
	}
	return &r, nil
}

// checkResult refuses a result that says other than the connector's own
// report it carries: a shard's report.json is an input, and an edited
// status or count must not pass the fleet. A result the gate could not
// run carries no report and says so.
func checkResult(res GateResult) error {
	if res.Status == StatusError {
		if len(res.Report) > 0 || res.Error == "" {
			return errors.New("a result in error carries the error and no report")
		}
		return nil
	}
	if len(res.Report) == 0 {
		return fmt.Errorf("a %s result without the connector's report", res.Status)
	}
	var rep struct {
		Connector struct{ Name, Version string } `json:"connector"`
		Summary   report.Summary                 `json:"summary"`
	}
	if err := json.Unmarshal(res.Report, &rep); err != nil {
		return fmt.Errorf("its report: %w", err)
	}
	sum := rep.Summary
	if rep.Connector.Name != res.Name || rep.Connector.Version != res.Version || sum.Status != res.Status ||
		sum.Checks != res.Checks || sum.Failed != res.Failed || sum.Errors != res.Errors || sum.Warnings != res.Warnings {
		return fmt.Errorf("the result (%s %s: %s, %d checks, %d failed, %d errors, %d warnings) disagrees with the report it carries (%s %s: %s, %d, %d, %d, %d)",
			res.Name, res.Version, res.Status, res.Checks, res.Failed, res.Errors, res.Warnings,
			rep.Connector.Name, rep.Connector.Version, sum.Status, sum.Checks, sum.Failed, sum.Errors, sum.Warnings)
	}
	if res.Status == report.StatusPass && len(res.Failing) > 0 {
		return errors.New("a passing result lists failing findings")
	}
	return nil
}

// Merge joins the reports of a fleet's shards into the report one
// unsharded run writes: they must be about the same fleet, and together
// hold exactly one result for each of its connectors.
func Merge(reports ...*GateReport) (*GateReport, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("merge: no report given")
	}
	first := reports[0]
	if len(first.Connectors) == 0 {
		return nil, fmt.Errorf("merge: the fleet lists no connector")
	}
	var total int
	var results []GateResult
	from := map[string]int{}
	shards := map[string]int{}
	for i, r := range reports {
		if r.Fleet != first.Fleet || !slices.Equal(r.Connectors, first.Connectors) {
			return nil, fmt.Errorf("merge: report %d is about another fleet (%s, %d connectors) than report 1 (%s, %d connectors)",
				i+1, r.Fleet, len(r.Connectors), first.Fleet, len(first.Connectors))
		}
		if r.Shard != "" {
			sh, err := ParseShard(r.Shard)
			if err != nil {
				return nil, fmt.Errorf("merge: report %d: %w", i+1, err)
			}
			if total != 0 && sh.N != total {
				return nil, fmt.Errorf("merge: report %d is shard %s, another split than the others' (of %d)", i+1, r.Shard, total)
			}
			total = sh.N
			if j, ok := shards[r.Shard]; ok {
				return nil, fmt.Errorf("merge: reports %d and %d are both shard %s", j+1, i+1, r.Shard)
			}
			shards[r.Shard] = i
		}
		for _, res := range r.Results {
			if j, ok := from[res.Connector]; ok {
				return nil, fmt.Errorf("merge: %s is in reports %d and %d; give each shard's report once", res.Connector, j+1, i+1)
			}
			from[res.Connector] = i
			results = append(results, res)
		}
	}
	var missing []string
	for _, c := range first.Connectors {
		if _, ok := from[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("merge: no report holds %s (%d of %d connectors); give every shard's report",
			strings.Join(missing[:min(len(missing), 5)], ", "), len(missing), len(first.Connectors))
	}
	return NewGateReport(first.Fleet, first.Connectors, nil, results), nil
}

// JSON is the report as indented JSON.
func (r *GateReport) JSON() ([]byte, error) { return encodeJSON(r) }

// Line is the one-line verdict.
func (r *GateReport) Line() string {
	s := r.Summary
	what := "fleet " + r.Fleet
	if r.Shard != "" {
		what += " shard " + r.Shard
	}
	return fmt.Sprintf("%s: %s: %d connectors, %d passed, %d failed, %d could not run",
		strings.ToUpper(s.Status), what, s.Connectors, s.Passed, s.Failed, s.Errors)
}

// Markdown writes the verdict and a row per connector, with what failed.
func (r *GateReport) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### tether gate: %s\n\n**%s**\n\n", markdown.Text(r.Fleet), markdown.Text(r.Line()))
	b.WriteString("| Connector | Version | Status | Checks | Failed | Errors | Warnings |\n|---|---|---|---|---|---|---|\n")
	for _, res := range r.Results {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d | %d |\n", markdown.Cell(res.Connector), markdown.Cell(res.Version), res.Status,
			res.Checks, res.Failed, res.Errors, res.Warnings)
	}
	for _, res := range r.Results {
		if len(res.Failing) == 0 && res.Error == "" {
			continue
		}
		fmt.Fprintf(&b, "\n#### %s\n\n", markdown.Text(res.Connector))
		if res.Error != "" {
			fmt.Fprintf(&b, "- could not run: %s\n", markdown.Text(res.Error))
		}
		for _, f := range res.Failing {
			fmt.Fprintf(&b, "- %s\n", markdown.Text(f))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JUnit writes one test case per connector, failing with its unwaived
// error findings or why it could not run.
func (r *GateReport) JUnit(w io.Writer) error {
	s := junit.Suite{Name: "tether gate " + r.Fleet, Properties: []junit.Property{{Name: "fleet", Value: r.Fleet}}}
	for _, res := range r.Results {
		tc := junit.Case{Name: res.Connector, Classname: "gate"}
		if res.Error != "" {
			tc.Failures = append(tc.Failures, junit.Failure{Message: res.Error, Type: StatusError, Text: res.Error})
		}
		for _, f := range res.Failing {
			id, _, _ := strings.Cut(f, " ")
			tc.Failures = append(tc.Failures, junit.Failure{Message: f, Type: id, Text: f})
		}
		if res.Status == report.StatusFail && len(tc.Failures) == 0 {
			msg := fmt.Sprintf("%d of %d checks failed", res.Failed, res.Checks)
			tc.Failures = append(tc.Failures, junit.Failure{Message: msg, Type: report.StatusFail, Text: msg})
		}
		s.Cases = append(s.Cases, tc)
	}
	return junit.Write(w, junit.Report{Name: "tether gate", Suites: []junit.Suite{s}})
}
