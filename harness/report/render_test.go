package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tetherkit/tether/contracts"
)

// Text the sample report carries to test escaping: markup, an entity, a
// table pipe and a newline.
const (
	trickyMessage = `amount <b>12 & 13</b> | "total"` + "\nsecond line"
	trickyOutcome = "error: upstream said <500> & a|b\nthen closed"
)

// sampleReport is a run over a made-up connector: two suites, three
// scenarios (one failing, with a golden diff), findings of each level,
// one of them waived, and text that needs escaping in every format.
func sampleReport() *Report {
	return &Report{
		Version:   Version,
		Connector: ConnectorInfo{Name: "dealnotify", Version: "1.4.0", Summary: "Posts won deals to chat.", Dir: "."},
		Run:       RunInfo{Seed: 42, Target: "in-process", Sandbox: "inproc", Suites: []string{"contract", "behaviour"}},
		Tools:     Tools{Tether: "v0.3.0", Go: "go1.26.0", Modules: map[string]string{"github.com/google/go-cmp": "v0.7.0"}},
		Summary:   Summary{Status: StatusFail, Errors: 2, Warnings: 1, Infos: 1, Waived: 1, Checks: 7, Failed: 2},
		Suites: []SuiteReport{
			{Name: "contract", Status: StatusPass, Checks: 3, Failed: 0, Errors: 0, Warnings: 1},
			{Name: "behaviour", Status: StatusFail, Checks: 4, Failed: 2, Errors: 2, Warnings: 0},
		},
		Scenarios: []ScenarioReport{
			{Name: "deal-won", File: "scenarios/deal-won.yaml", Status: StatusPass, Expected: "ack", Outcomes: []string{"ack"}, Calls: 2},
			{Name: "deal-lost", File: "scenarios/deal-lost.yaml", Status: StatusSkip, Expected: "ack", Outcomes: nil, Calls: 0},
			{
				Name: "duplicate-delivery", File: "scenarios/duplicate-delivery.yaml", Status: StatusFail,
				Expected: "ack", Outcomes: []string{"ack", trickyOutcome}, Calls: 3,
				Diff: []string{
					"  POST /chat.postMessage",
					`- body.text: "Deal won: <Acme>"`,
					`+ body.text: "Deal won: <Acme> & co"`,
					"+ POST /chat.postMessage (extra call)",
				},
			},
		},
		Checks: []Check{
			{Suite: "contract", Name: "manifest", Status: StatusPass},
			{Suite: "contract", Scenario: "deal-won", Name: "requests", Status: StatusPass, Findings: []int{2}},
			{Suite: "contract", Scenario: "duplicate-delivery", Name: "requests", Status: StatusPass, Findings: []int{4}},
			{Suite: "behaviour", Scenario: "deal-won", Name: "golden", Status: StatusPass},
			{Suite: "behaviour", Scenario: "deal-lost", Name: "golden", Status: StatusSkip},
			{Suite: "behaviour", Scenario: "duplicate-delivery", Name: "golden", Status: StatusFail, Findings: []int{0, 1, 3}},
			{Suite: "behaviour", Scenario: "duplicate-delivery", Name: "idempotency", Status: StatusFail, Findings: []int{5}},
		},
		Findings: []Finding{
			{Finding: contracts.Finding{ID: "golden-mismatch", Level: contracts.LevelError, Position: posOf("scenarios/duplicate-delivery.yaml:14:3"), Message: trickyMessage, Hint: "run with -update if the change is meant; see https://example.com/docs/golden"}, Suite: "behaviour", Scenario: "duplicate-delivery", Check: "golden"},
			{Finding: contracts.Finding{ID: "extra-call", Level: contracts.LevelError, Position: posOf("scenarios/duplicate-delivery.yaml:20:1"), Message: "one call more than the golden file"}, Suite: "behaviour", Scenario: "duplicate-delivery", Check: "golden"},
			{Finding: contracts.Finding{ID: "slow-answer", Level: contracts.LevelWarning, Position: posOf("scenarios/deal-won.yaml:1:1"), Message: "answered in 2.1 s; vendors time out at 3 s"}, Suite: "contract", Scenario: "deal-won", Check: "requests"},
			{Finding: contracts.Finding{ID: "header-casing", Level: contracts.LevelInfo, Message: "header X-Request-Id is sent as x-request-id"}, Suite: "behaviour", Scenario: "duplicate-delivery", Check: "golden"},
			{Finding: contracts.Finding{ID: "undocumented-field", Level: contracts.LevelError, Position: posOf("contracts/chat.yaml:88:7"), Message: "field blocks[0].accessory is not in the contract"}, Suite: "contract", Scenario: "duplicate-delivery", Check: "requests", Waived: "vendor documents it in a changelog only"},
			{Finding: contracts.Finding{ID: "not-idempotent", Level: contracts.LevelError, Position: posOf("scenarios/duplicate-delivery.yaml:5:1"), Message: "the second delivery posted again", Hint: "claim the event ID before posting"}, Suite: "behaviour", Scenario: "duplicate-delivery", Check: "idempotency"},
		},
		Timings: Timings{
			Total:     3456 * time.Millisecond,
			Suites:    map[string]time.Duration{"contract": 1200 * time.Millisecond, "behaviour": 2250 * time.Millisecond},
			Scenarios: map[string]time.Duration{"deal-won": 800 * time.Millisecond, "duplicate-delivery": 1900 * time.Millisecond},
		},
	}
}

// passingReport is sampleReport as a passing run: its error findings are
// waived and every check, scenario and suite passes.
func passingReport() *Report {
	r := sampleReport()
	r.Summary.Status = StatusPass
	r.Summary.Failed = 0
	for i := range r.Findings {
		if r.Findings[i].Level == contracts.LevelError && r.Findings[i].Waived == "" {
			r.Findings[i].Waived = "accepted for the test"
			r.Summary.Waived++
		}
	}
	for i := range r.Checks {
		if r.Checks[i].Status == StatusFail {
			r.Checks[i].Status = StatusPass
		}
	}
	for i := range r.Suites {
		r.Suites[i].Status, r.Suites[i].Failed = StatusPass, 0
	}
	for i := range r.Scenarios {
		if r.Scenarios[i].Status == StatusFail {
			r.Scenarios[i].Status, r.Scenarios[i].Diff = StatusPass, nil
		}
	}
	return r
}

func render(t *testing.T, write func(io.Writer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The JUnit test reads the XML back into structures of its own, so that
// a mistake in the renderer's structures is not mirrored here.
type junitIn struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Time     string `xml:"time,attr"`
		Cases    []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Failures  []struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped   *struct{} `xml:"skipped"`
			SystemOut string    `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestRenderJUnit(t *testing.T) {
	r := sampleReport()
	out := render(t, r.JUnit)
	var got junitIn
	if err := xml.Unmarshal(out, &got); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, out)
	}
	if got.Name != "tether dealnotify" || got.Tests != 7 || got.Failures != 2 || got.Skipped != 1 || got.Time != "3.456" {
		t.Errorf("testsuites: name %q tests %d failures %d skipped %d time %q; want \"tether dealnotify\" 7 2 1 \"3.456\"",
			got.Name, got.Tests, got.Failures, got.Skipped, got.Time)
	}
	if len(got.Suites) != 2 {
		t.Fatalf("got %d testsuites, want 2", len(got.Suites))
	}
	suites := []struct {
		name                     string
		tests, failures, skipped int
		time                     string
	}{
		{"contract", 3, 0, 0, "1.200"},
		{"behaviour", 4, 2, 1, "2.250"},
	}
	for i, want := range suites {
		s := got.Suites[i]
		if s.Name != want.name || s.Tests != want.tests || s.Failures != want.failures || s.Skipped != want.skipped || s.Time != want.time {
			t.Errorf("testsuite %d: %q tests %d failures %d skipped %d time %q; want %+v", i, s.Name, s.Tests, s.Failures, s.Skipped, s.Time, want)
		}
		if len(s.Cases) != s.Tests {
			t.Errorf("testsuite %q: %d testcases, but tests=%d", s.Name, len(s.Cases), s.Tests)
		}
	}

	cases := got.Suites[1].Cases
	if c := got.Suites[0].Cases[0]; c.Name != "manifest" || c.Classname != "dealnotify.contract" {
		t.Errorf("connector check: name %q classname %q; want \"manifest\" \"dealnotify.contract\"", c.Name, c.Classname)
	}
	if c := cases[1]; c.Name != "deal-lost/golden" || c.Skipped == nil || len(c.Failures) != 0 {
		t.Errorf("skipped check %q: skipped %v, %d failures; want deal-lost/golden skipped, no failure", c.Name, c.Skipped != nil, len(c.Failures))
	}
	golden := cases[2]
	if golden.Name != "duplicate-delivery/golden" || golden.Classname != "dealnotify.behaviour" {
		t.Fatalf("testcase 2 of behaviour is %q (%q); want duplicate-delivery/golden (dealnotify.behaviour)", golden.Name, golden.Classname)
	}
	if len(golden.Failures) != 1 {
		t.Fatalf("failed check has %d failures, want 1", len(golden.Failures))
	}
	f := golden.Failures[0]
	if f.Type != "golden-mismatch" {
		t.Errorf("failure type = %q, want the first error finding's ID golden-mismatch", f.Type)
	}
	if !strings.HasPrefix(f.Message, trickyMessage) {
		t.Errorf("failure message = %q; want it to start with %q, intact", f.Message, trickyMessage)
	}
	for _, want := range []string{r.Findings[0].String(), r.Findings[1].String()} {
		if !strings.Contains(f.Text, want) {
			t.Errorf("failure text lacks error finding %q:\n%s", want, f.Text)
		}
	}
	if strings.Contains(f.Text, "header-casing") {
		t.Errorf("failure text holds the info finding; it belongs in system-out:\n%s", f.Text)
	}
	if !strings.Contains(golden.SystemOut, "header-casing") {
		t.Errorf("system-out lacks the info finding: %q", golden.SystemOut)
	}
	if c := got.Suites[0].Cases[1]; len(c.Failures) != 0 || !strings.Contains(c.SystemOut, "warning slow-answer") {
		t.Errorf("passing check with a warning: %d failures, system-out %q; want none and the warning", len(c.Failures), c.SystemOut)
	}
	if c := got.Suites[0].Cases[2]; len(c.Failures) != 0 || !strings.Contains(c.SystemOut, "waived: "+r.Findings[4].Waived) {
		t.Errorf("check with a waived error: %d failures, system-out %q; want none and the waiver", len(c.Failures), c.SystemOut)
	}
	if c := cases[3]; len(c.Failures) != 1 || c.Failures[0].Type != "not-idempotent" {
		t.Errorf("idempotency check: failures %+v; want one of type not-idempotent", c.Failures)
	}
}

func TestRenderJUnitBadIndex(t *testing.T) {
	r := sampleReport()
	r.Checks[0].Findings = []int{len(r.Findings)}
	err := r.JUnit(io.Discard)
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("JUnit with a finding index past the end: err = %v; want an out-of-range error", err)
	}
}

// pipes counts the pipes of a table row that are not escaped.
func pipes(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		if row[i] == '\\' {
			i++
			continue
		}
		if row[i] == '|' {
			n++
		}
	}
	return n
}

func TestRenderMarkdown(t *testing.T) {
	out := string(render(t, sampleReport().Markdown))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")

	if !strings.HasPrefix(lines[0], "## ❌ FAIL") || !strings.Contains(lines[0], "dealnotify 1.4.0") {
		t.Errorf("title = %q; want the FAIL mark, the connector and its version", lines[0])
	}
	pass := string(render(t, passingReport().Markdown))
	if !strings.HasPrefix(pass, "## ✅ PASS") {
		t.Errorf("passing report's title = %q; want ✅ PASS", strings.SplitN(pass, "\n", 2)[0])
	}
	if len(lines) > 60 {
		t.Errorf("markdown has %d lines for a small run, want at most 60:\n%s", len(lines), out)
	}

	// Tables: runs of lines starting with a pipe, each row with as many
	// unescaped pipes as the header.
	var tables [][]string
	for i, line := range lines {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		if i == 0 || !strings.HasPrefix(lines[i-1], "|") {
			tables = append(tables, nil)
		}
		tables[len(tables)-1] = append(tables[len(tables)-1], line)
	}
	if len(tables) != 2 {
		t.Fatalf("found %d tables, want 2 (suites, scenarios):\n%s", len(tables), out)
	}
	for _, rows := range tables {
		want := pipes(rows[0])
		for _, row := range rows {
			if pipes(row) != want || !strings.HasSuffix(row, "|") {
				t.Errorf("row %q has %d columns' pipes, header %d; a cell broke the table", row, pipes(row), want)
			}
		}
	}
	if got, want := len(tables[0]), 2+2; got != want {
		t.Errorf("suites table has %d lines, want %d", got, want)
	}
	if got, want := len(tables[1]), 2+3; got != want {
		t.Errorf("scenarios table has %d lines, want %d", got, want)
	}
	if !strings.Contains(tables[1][4], `a\|b`) || !strings.Contains(tables[1][4], `<br>then closed`) {
		t.Errorf("scenario row %q: want the pipe escaped as \\| and the newline as <br>", tables[1][4])
	}

	for _, want := range []string{
		"7 checks, 2 failed, 1 skipped",
		"### Findings",
		"`golden-mismatch` at `scenarios/duplicate-delivery.yaml:14:3`",
		`amount \<b\>12 \& 13\</b\> \| "total"<br>second line`,
		"`undocumented-field`",
		"**waived:** vendor documents it in a changelog only",
		"warning `slow-answer`",
		"### Golden diff: duplicate-delivery",
		"```\n  POST /chat.postMessage\n",
		"seed 42",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "header-casing") {
		t.Errorf("markdown lists the info finding; it lists errors and warnings only")
	}
	if strings.Contains(out, "```diff") {
		t.Errorf("golden diff is fenced as diff; want a plain fence")
	}
	// The findings: one line each, errors before warnings.
	if e, w := strings.Index(out, "`not-idempotent`"), strings.Index(out, "`slow-answer`"); e < 0 || w < e {
		t.Errorf("errors are not listed before warnings")
	}
}

func TestRenderMarkdownManyFindings(t *testing.T) {
	r := sampleReport()
	for range 60 {
		r.Findings = append(r.Findings, Finding{Finding: contracts.Finding{ID: "extra", Level: contracts.LevelWarning, Message: "more"}})
	}
	out := string(render(t, r.Markdown))
	// 4 errors and 61 warnings: 50 shown, 15 left out. The golden diff
	// has lines starting with "- " too, so only the section is counted.
	start, end := strings.Index(out, "### Findings"), strings.Index(out, "### Golden diff")
	if start < 0 || end < start {
		t.Fatalf("markdown lacks the findings or the diff section:\n%s", out)
	}
	if n := strings.Count(out[start:end], "\n- "); n != 50 {
		t.Errorf("markdown lists %d findings, want 50", n)
	}
	if !strings.Contains(out, "15 more error and warning findings are left out") {
		t.Errorf("markdown does not say how many findings were left out:\n%s", out)
	}
}

// findAll returns the elements under n for which match is true, in
// document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

func byID(doc *html.Node, id string) *html.Node {
	if found := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id }); len(found) == 1 {
		return found[0]
	}
	return nil
}

// checkPage checks what a reader of the report page sees, in a document
// parsed from the renderer's output or dumped by a browser.
func checkPage(t *testing.T, doc *html.Node, r *Report) {
	t.Helper()
	wantStatus := "FAIL"
	if r.Summary.Status == StatusPass {
		wantStatus = "PASS"
	}
	if n := byID(doc, "status"); n == nil || text(n) != wantStatus {
		t.Errorf("#status is missing or not exactly %q", wantStatus)
	}
	if n := byID(doc, "summary"); n == nil || !strings.Contains(text(n), "7 checks") {
		t.Errorf("#summary is missing or lacks the check count")
	}
	if n := byID(doc, "suites"); n == nil || len(findAll(n, func(n *html.Node) bool { return n.Data == "tr" })) != len(r.Suites)+1 {
		t.Errorf("#suites is missing or has not one row per suite and a header")
	}
	table := byID(doc, "scenarios")
	if table == nil {
		t.Fatal("#scenarios is missing")
	}
	rows := findAll(table, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-scenario") != "" })
	if len(rows) != len(r.Scenarios) {
		t.Errorf("#scenarios has %d scenario rows, want %d", len(rows), len(r.Scenarios))
	}
	for i, row := range rows[:min(len(rows), len(r.Scenarios))] {
		sc := r.Scenarios[i]
		if attr(row, "data-scenario") != sc.Name || attr(row, "data-status") != sc.Status {
			t.Errorf("scenario row %d: data-scenario %q data-status %q; want %q %q",
				i, attr(row, "data-scenario"), attr(row, "data-status"), sc.Name, sc.Status)
		}
	}
	findings := byID(doc, "findings")
	if findings == nil {
		t.Fatal("#findings is missing")
	}
	items := findAll(findings, func(n *html.Node) bool { return hasClass(n, "finding") })
	if len(items) != len(r.Findings) {
		t.Errorf("%d .finding elements, want one per finding: %d", len(items), len(r.Findings))
	}
	for i, item := range items[:min(len(items), len(r.Findings))] {
		f := r.Findings[i]
		if attr(item, "data-id") != f.ID || attr(item, "data-level") != f.Level.String() {
			t.Errorf("finding %d: data-id %q data-level %q; want %q %q", i, attr(item, "data-id"), attr(item, "data-level"), f.ID, f.Level)
		}
	}
	if len(items) > 0 {
		// The message's markup must be text: no <b> element, and the
		// characters as the report has them.
		msg := findAll(items[0], func(n *html.Node) bool { return hasClass(n, "message") })
		if len(msg) != 1 || text(msg[0]) != trickyMessage {
			t.Errorf("first finding's message is not shown as the text %q", trickyMessage)
		}
		if b := findAll(items[0], func(n *html.Node) bool { return n.Data == "b" }); len(b) > 0 {
			t.Errorf("the message's <b> became an element; it must be escaped")
		}
	}
	diffs := findAll(doc, func(n *html.Node) bool { return n.Data == "pre" && hasClass(n, "diff") })
	var failing []ScenarioReport
	for _, sc := range r.Scenarios {
		if sc.Status == StatusFail && len(sc.Diff) > 0 {
			failing = append(failing, sc)
		}
	}
	if len(diffs) != len(failing) {
		t.Fatalf("%d pre.diff elements, want one per failing scenario with a diff: %d", len(diffs), len(failing))
	}
	for i, d := range diffs {
		if got, want := text(d), strings.Join(failing[i].Diff, "\n"); got != want {
			t.Errorf("diff of %s reads\n%s\nwant\n%s", failing[i].Name, got, want)
		}
	}
}

func TestRenderHTML(t *testing.T) {
	for _, r := range []*Report{sampleReport(), passingReport()} {
		t.Run(r.Summary.Status, func(t *testing.T) {
			out := render(t, r.HTML)
			doc, err := html.Parse(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("HTML does not parse: %v", err)
			}
			checkPage(t, doc, r)

			// Self-contained: nothing is fetched from elsewhere. The hint's
			// URL may appear as text, never as a resource.
			for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
				for _, a := range n.Attr {
					if (a.Key == "src" || a.Key == "href" || a.Key == "srcset") && strings.Contains(a.Val, "//") {
						t.Errorf("<%s %s=%q> loads an external resource", n.Data, a.Key, a.Val)
					}
				}
				if n.Data == "link" || n.Data == "script" || n.Data == "img" || n.Data == "iframe" {
					t.Errorf("<%s> found; the page must need nothing from elsewhere", n.Data)
				}
			}
			if strings.Contains(string(out), "url(") || strings.Contains(string(out), "@import") {
				t.Errorf("the CSS refers to an external resource")
			}
			for _, want := range []string{"amount &lt;b&gt;12 &amp; 13&lt;/b&gt;", "3.456 s", "1.200 s"} {
				if !bytes.Contains(out, []byte(want)) {
					t.Errorf("HTML lacks %q", want)
				}
			}
			if bytes.Contains(out, []byte("<b>12")) {
				t.Errorf("HTML holds the message's <b> unescaped")
			}
		})
	}
}

func TestRenderDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*Report, io.Writer) error
	}{
		{"JUnit", (*Report).JUnit},
		{"Markdown", (*Report).Markdown},
		{"HTML", (*Report).HTML},
	} {
		first := render(t, func(w io.Writer) error { return tc.write(sampleReport(), w) })
		for range 5 {
			if again := render(t, func(w io.Writer) error { return tc.write(sampleReport(), w) }); !bytes.Equal(first, again) {
				t.Errorf("%s gives different bytes for the same report", tc.name)
				break
			}
		}
	}
}

// posOf reads "file:line:col" into a position.
func posOf(s string) contracts.Position {
	var p contracts.Position
	parts := strings.Split(s, ":")
	p.File = parts[0]
	if len(parts) > 1 {
		p.Line, _ = strconv.Atoi(parts[1])
	}
	if len(parts) > 2 {
		p.Column, _ = strconv.Atoi(parts[2])
	}
	return p
}
