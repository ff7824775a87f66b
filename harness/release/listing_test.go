package release

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tetherkit/tether/harness/coverage"
	"github.com/tetherkit/tether/harness/report"
)

// dealnotifyListing builds dealnotify's listing with the report of a run
// of its contract suite over its scenarios.
func dealnotifyListing(t *testing.T) *Listing {
	t.Helper()
	c := load(t, dealnotifyDir)
	rep := &report.Report{
		Version:   report.Version,
		Connector: report.ConnectorInfo{Name: c.Manifest.Name, Version: c.Manifest.Version, Dir: "."},
		Run:       report.RunInfo{Seed: 1, Target: "in-process", Sandbox: "inproc", Suites: []string{report.SuiteContract}},
		Inputs:    c.Inputs,
	}
	for _, sc := range c.Scenarios {
		rep.Scenarios = append(rep.Scenarios, report.ScenarioReport{Name: sc.Name, File: sc.File, Expected: sc.Expect.Outcome})
		rep.Checks = append(rep.Checks, report.Check{Suite: report.SuiteContract, Scenario: sc.Name, Name: "outbound-calls"})
	}
	rep = report.Gate(rep, nil, bundleToday)
	l, err := BuildListing(c, rep)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestListingDealnotify(t *testing.T) {
	l := dealnotifyListing(t)
	if l.Name != "dealnotify" || l.Version != "1.0.0" || l.Support != "stable" || l.Summary == "" {
		t.Errorf("name, version, support, summary = %q, %q, %q, %q", l.Name, l.Version, l.Support, l.Summary)
	}

	scopes := map[string]ListingScope{}
	for _, s := range l.Scopes {
		scopes[s.Scope] = s
	}
	for _, tc := range []struct {
		scope  string
		op     ListingOperation
		reason string
	}{
		{"deals:read", ListingOperation{Vendor: "crm", ID: "getDeal", Method: "GET", Path: "/deals/{dealId}"}, "crm: GET /deals/{dealId} (getDeal)"},
		{"chat:write", ListingOperation{Vendor: "chat", ID: "postMessage", Method: "POST", Path: "/chat.postMessage"}, "chat: POST /chat.postMessage (postMessage)"},
	} {
		s, ok := scopes[tc.scope]
		if !ok {
			t.Errorf("no scope %s in %+v", tc.scope, l.Scopes)
			continue
		}
		if !slices.Equal(s.Operations, []ListingOperation{tc.op}) {
			t.Errorf("%s: operations %+v, want only %+v: listDeals and updateDeal are not called", tc.scope, s.Operations, tc.op)
		}
		if !strings.Contains(s.Reason, tc.reason) {
			t.Errorf("%s: reason %q does not name %q", tc.scope, s.Reason, tc.reason)
		}
	}

	fields := map[string]ListingConfigField{}
	for _, f := range l.Config {
		fields[f.Name] = f
	}
	if names := len(l.Config); names != 4 || l.Config[0].Name != "channel" {
		t.Errorf("config fields %+v: want the schema's four, in its order", l.Config)
	}
	if f := fields["channel"]; !f.Required || f.Type != "string" || f.Title != "Chat channel" || f.Default != nil {
		t.Errorf("channel: %+v", f)
	}
	if f := fields["min_amount"]; f.Required || f.Type != "number" || string(f.Default) != "0" {
		t.Errorf("min_amount: %+v, want optional number with default 0", f)
	}
	if f := fields["stages"]; !f.Required || f.Type != "array of string" || len(f.Enum) != 6 || string(f.Enum[4]) != `"won"` {
		t.Errorf("stages: %+v, want a required array of string limited to the six stages", f)
	}

	wantVendors := []ListingVendor{
		{Vendor: "chat", Title: "Relay Chat Web API", Version: "1.8.0", Contract: "contracts/chat.openapi.yaml"},
		{Vendor: "crm", Title: "Northwind CRM API", Version: "2.3.0", Contract: "contracts/crm.openapi.yaml"},
	}
	for i := range l.Vendors {
		l.Vendors[i].OpenAPI = "" // the document format, not what this test is about
	}
	if !slices.Equal(l.Vendors, wantVendors) {
		t.Errorf("vendors %+v, want %+v", l.Vendors, wantVendors)
	}

	cv := l.Coverage
	if cv == nil {
		t.Fatal("no coverage from the report")
	}
	if len(cv.Suites) != 1 || cv.Suites[0].Name != report.SuiteContract || cv.Suites[0].Checks == 0 {
		t.Errorf("suites %+v, want the contract suite with its checks", cv.Suites)
	}
	if cv.Status != report.StatusPass || cv.Checks == 0 || cv.Failed != 0 || len(cv.Scenarios) == 0 {
		t.Errorf("coverage %+v", cv)
	}
	if i := slices.IndexFunc(cv.Scenarios, func(s ListingScenario) bool { return s.Name == "won" }); i < 0 || cv.Scenarios[i].Status != report.StatusPass {
		t.Errorf("scenarios %+v, want won passing", cv.Scenarios)
	}
}

func TestListingScopeNoOperationUses(t *testing.T) {
	c := load(t, dealnotifyDir)
	m := *c.Manifest
	m.Scopes = append(slices.Clone(m.Scopes), "deals:write", "channels:read")
	c.Manifest = &m
	l, err := BuildListing(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range l.Scopes[2:] {
		if s.Reason != "declared; no operation seen using it" || len(s.Operations) != 0 {
			t.Errorf("%s: reason %q, operations %+v: no call in the cassettes or golden files needs it", s.Scope, s.Reason, s.Operations)
		}
	}
	if l.Coverage != nil {
		t.Errorf("coverage %+v without a report", l.Coverage)
	}
	if md := string(l.Markdown()); !strings.Contains(md, "Not tested: no report was given.") {
		t.Errorf("the Markdown does not say the release was not tested:\n%s", md)
	}
}

func TestListingJSON(t *testing.T) {
	l := dealnotifyListing(t)
	data, err := l.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Listing
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("the JSON does not decode: %v\n%s", err, data)
	}
	again, err := back.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Errorf("decoding and encoding again changed the JSON:\n%s\n---\n%s", data, again)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"name", "version", "summary", "support", "scopes", "config", "coverage", "vendors"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("the JSON has no %q", key)
		}
	}
	if other, err := dealnotifyListing(t).JSON(); err != nil || !bytes.Equal(data, other) {
		t.Errorf("two listings of the same connector differ (%v):\n%s\n---\n%s", err, data, other)
	}
}

func TestListingMarkdown(t *testing.T) {
	md := string(dealnotifyListing(t).Markdown())
	for _, want := range []string{
		"# dealnotify 1.0.0",
		"| `deals:read` | used by `crm: GET /deals/{dealId} (getDeal)` |",
		"| `channel` | string | yes | – | Chat channel: The id of the public",
		"| `min_amount` | number | no | `0` |",
		"One of `\"lead\"`, `\"qualified\"`",
		"| contract | pass |",
		"| crm | Northwind CRM API | 2.3.0 | `contracts/crm.openapi.yaml` |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
}

// A pipe or a newline in a value stays inside its table cell.
func TestListingMarkdownEscapesCells(t *testing.T) {
	l := &Listing{Name: "x", Version: "1.0.0", Support: "beta",
		Scopes: []ListingScope{{Scope: "a|b", Reason: "declared; no operation seen using it"}},
		Config: []ListingConfigField{{Name: "mode|x", Type: "string", Title: "Mode", Description: "fast | slow\nor *none*",
			Default: json.RawMessage(`"a|b"`), Enum: []json.RawMessage{[]byte(`"fast|er"`)}}},
		Vendors: []ListingVendor{{Vendor: "v", Title: "The | API", Version: "1|2", Contract: "c.yaml"}},
	}
	md := string(l.Markdown())
	for _, want := range []string{
		"| `a\\|b` | declared; no operation seen using it |",
		"| `mode\\|x` | string | no | `\"a\\|b\"` | Mode: fast \\| slow<br>or \\*none\\*. One of `\"fast\\|er\"`. |",
		"| v | The \\| API | 1\\|2 | `c.yaml` |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		if cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); cells != strings.Count(tableHeader(md, line), "|") {
			t.Errorf("row %q has %d pipes, unlike its table's header", line, cells)
		}
	}
}

// tableHeader returns the first row of the table that holds row.
func tableHeader(md, row string) string {
	lines := strings.Split(md, "\n")
	i := slices.Index(lines, row)
	for i > 0 && strings.HasPrefix(lines[i-1], "|") {
		i--
	}
	return lines[i]
}

// A report with coverage puts it in the listing, missed items named: here
// measured from dealnotify's files alone, with no run, so every operation
// its cassettes and golden files call is used and none is exercised.
func TestListingCoverage(t *testing.T) {
	c := load(t, dealnotifyDir)
	rep := &report.Report{Version: report.Version, Run: report.RunInfo{Suites: []string{report.SuiteContract}}, Coverage: coverage.Measure(c, nil)}
	rep = report.Gate(rep, nil, bundleToday)
	l, err := BuildListing(c, rep)
	if err != nil {
		t.Fatal(err)
	}
	cv := l.Coverage.Contracts
	i := slices.IndexFunc(cv, func(v ListingContractCoverage) bool { return v.Vendor == "chat" })
	if i < 0 || cv[i].Used != 1 || cv[i].Exercised.Covered != 0 || !slices.Contains(cv[i].Missed, "postMessage") || !slices.Contains(cv[i].Missed, "postMessage 503") {
		t.Fatalf("chat's listed coverage %+v: want postMessage used, not exercised, and its 503 missed", cv)
	}
	if e := l.Coverage.Events; e == nil || e.Delivered.Total != 2 || !slices.Contains(e.Missed, "deal.updated") {
		t.Errorf("listed event coverage %+v: want deal.created and deal.updated declared and missed", e)
	}
	md := string(l.Markdown())
	for _, want := range []string{"| chat | 1 of 2 | 0/1 (0%) |", "postMessage 503", "Event types delivered: 0/2 (0%); never delivered: deal.created, deal.updated."} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
}
