package report

import (
	"strings"
	"testing"
	"time"
)

// coveredReport has one vendor whose used operations are half exercised
// and whose declared statuses are two of four answered, and events half
// delivered.
func coveredReport() *Report {
	return &Report{Version: Version, Run: RunInfo{Suites: []string{SuiteReplay}}, Coverage: &Coverage{
		Vendors: []VendorCoverage{{Vendor: "chat", Declared: 3, Used: []string{"getChannel", "postMessage"}, Exercised: []string{"postMessage"},
			Unexercised: []string{"getChannel"}, UsedOperations: NewRatio(1, 2), DeclaredStatuses: NewRatio(2, 4),
			Operations: []OperationCoverage{
				{ID: "getChannel", Statuses: []StatusCoverage{{Status: "200"}}},
				{ID: "postMessage", Exercised: true, Statuses: []StatusCoverage{{Status: "200", Answered: true}, {Status: "429", Answered: true}, {Status: "503"}}},
			}}},
		Events: &EventCoverage{Declared: []string{"deal.created", "deal.updated"}, Delivered: []string{"deal.updated"}, Missed: []string{"deal.created"}, Ratio: NewRatio(1, 2)},
	}}
}

// The gate fails below each minimum the policy sets, at the policy's
// coverage line, and the finding names what was missed; a minimum met,
// or not set, adds nothing.
func TestGateCoverageMinimums(t *testing.T) {
	cases := []struct {
		reason, policy string
		want           []string // substrings, one per finding
	}{
		{"no minimums: coverage is reported, not gated", "fail-on: [error]\n", nil},
		{"minimums met", "coverage: {used-operations: 50, declared-statuses: 50, delivered-events: 50}\n", nil},
		{"every minimum missed", "fail-on: [error]\ncoverage:\n  used-operations: 100\n  declared-statuses: 80\n  delivered-events: 100\n", []string{
			"chat: declared statuses answered: 2/4 (50%), below the policy's minimum of 80%; missed: getChannel 200, postMessage 503",
			"chat: used operations exercised: 1/2 (50%), below the policy's minimum of 100%; missed: getChannel",
			"events: declared event types delivered: 1/2 (50%), below the policy's minimum of 100%; missed: deal.created",
		}},
	}
	for _, tc := range cases {
		p, err := ParsePolicy("policy.yaml", []byte(tc.policy))
		if err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		g := Gate(coveredReport(), p, time.Now())
		var got []Finding
		for _, f := range g.Findings {
			if f.ID == RuleCoverageBelowMinimum {
				got = append(got, f)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d coverage findings %v, want %d", tc.reason, len(got), got, len(tc.want))
			continue
		}
		for i, f := range got {
			if !strings.Contains(f.Message, tc.want[i]) || f.Position.File != "policy.yaml" || f.Position.Line != 2 {
				t.Errorf("%s: finding %s, want %q at policy.yaml:2", tc.reason, f, tc.want[i])
			}
		}
		if (len(tc.want) > 0) != (g.Summary.Status == StatusFail) {
			t.Errorf("%s: status %s", tc.reason, g.Summary.Status)
		}
		// Gated again with the default policy, the findings go: the
		// policy decides afresh.
		if again := Gate(g, nil, time.Now()); again.Summary.Status != StatusPass {
			t.Errorf("%s: gated again without minimums, the report fails: %v", tc.reason, again.Findings)
		}
	}
}

func TestParsePolicyCoverage(t *testing.T) {
	_, err := ParsePolicy("policy.yaml", []byte("coverage:\n  declared-statuses: 180\n"))
	if err == nil || !strings.Contains(err.Error(), "policy.yaml:2") || !strings.Contains(err.Error(), "0 to 100") {
		t.Errorf("a minimum of 180%%: %v; want an error at line 2", err)
	}
	if _, err := ParsePolicy("policy.yaml", []byte("coverage: {used-operation: 100}\n")); err == nil {
		t.Error("a misspelt minimum was accepted")
	}
}

func TestCoverageLines(t *testing.T) {
	got := strings.Join(coveredReport().Coverage.Lines(), "\n")
	for _, want := range []string{"coverage chat: operations used 2 of 3 declared, exercised 1/2 (50%); declared statuses answered 2/4 (50%)", "never exercised: getChannel", "coverage events: delivered 1/2 (50%); never delivered: deal.created"} {
		if !strings.Contains(got, want) {
			t.Errorf("the coverage lines lack %q:\n%s", want, got)
		}
	}
}

// The page shows the coverage, metrics and timelines in words a reader
// without colour (or a screen reader) gets: each bar's value as text and
// as its label, each step's kind and answer, a failing run listed first.
func TestHTMLChartsInWords(t *testing.T) {
	var b strings.Builder
	if err := picturedReport().HTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		`id="coverage"`, `aria-label="declared statuses answered: 2/4 (50%)"`, `Missed: <code>getChannel</code>, <code>getChannel 200</code>, <code>postMessage 503</code>`,
		`id="metrics"`, `<dt>success rate</dt><dd>75.0%</dd>`, `<dt>latency p95</dt><dd>48.0 ms</dd>`, `<th scope="row">retryable</th>`,
		`<a href="#run-2">✗ negative error-status/postMessage/503: 1 delivery attempt, 3 calls, 2 retries, 0 waits, 1 dead letter</a>`,
		`<li class="run" id="run-2" data-run="error-status/postMessage/503" data-suite="negative" data-status="fail">`,
		`data-kind="wait"><span class="sym" aria-hidden="true">‖</span>wait: Retry-After 1`,
		`class="step bad retry" data-kind="call"><span class="sym" aria-hidden="true">↻</span>chat postMessage, retry 2 → 503`,
		`data-kind="dead-letter"><span class="sym" aria-hidden="true">✉</span>dead letter evt_1 (retryable, 3 attempts)`,
		`<td class="cell fail">✗ fail</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// FuzzParsePolicy: any bytes give a policy or an error, never a panic, and
// a coverage minimum accepted is a percentage.
func FuzzParsePolicy(f *testing.F) {
	for _, seed := range []string{
		"coverage: {used-operations: 100, declared-statuses: 80}\n",
		"coverage:\n  delivered-events: 50.5\nfail-on: [error]\n",
		"coverage: {used-operations: -1}\n",
		"coverage: [1, 2]\n",
		"coverage: {used-operations: .nan}\n",
		"waivers:\n  - {id: x, reason: y, expires: 2027-01-01}\ncoverage: {declared-statuses: 1e3}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy("policy.yaml", data)
		if err != nil {
			return
		}
		for _, v := range []*float64{p.Coverage.UsedOperations, p.Coverage.DeclaredStatuses, p.Coverage.DeliveredEvents} {
			if v != nil && (*v < 0 || *v > 100 || *v != *v) {
				t.Errorf("minimum %v accepted", *v)
			}
		}
	})
}
