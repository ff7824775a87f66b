package harness

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file holds the renderers meant for CI systems and people: JUnit
// XML, Markdown and HTML. Each reads the Report alone and gives the same
// bytes for the same Report; the JSON form is in report.go.

// JUnit writes the report as JUnit XML, the format CI systems read test
// results in: one testsuite per suite, one testcase per [Check]. A failed
// check has one failure, typed by the ID of its first error finding, whose
// text lists every error finding of the check; its other findings
// (warnings, infos and waived errors) go in system-out. Times are in
// seconds, from [Report.Timings]; test cases carry none.
func (r *Report) JUnit(w io.Writer) error {
	out := junitSuites{
		Name: "tether " + r.Connector.Name,
		Time: seconds(r.Timings.Total),
	}
	for _, suite := range r.suiteNames() {
		s := junitSuite{Name: suite, Time: seconds(r.Timings.Suites[suite])}
		for _, c := range r.Checks {
			if c.Suite != suite {
				continue
			}
			tc, err := r.junitCase(c)
			if err != nil {
				return err
			}
			s.Tests++
			if tc.Failure != nil {
				s.Failures++
			}
			if tc.Skipped != nil {
				s.Skipped++
			}
			s.Cases = append(s.Cases, tc)
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *struct{}     `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func (r *Report) junitCase(c Check) (junitCase, error) {
	tc := junitCase{Classname: r.Connector.Name + "." + c.Suite, Name: c.Name}
	if c.Scenario != "" {
		tc.Name = c.Scenario + "/" + c.Name
	}
	var errs, others []string
	var first *Finding
	for _, i := range c.Findings {
		if i < 0 || i >= len(r.Findings) {
			return tc, fmt.Errorf("check %s of suite %s: finding index %d is out of range: the report has %d findings", tc.Name, c.Suite, i, len(r.Findings))
		}
		f := r.Findings[i]
		switch {
		case f.Level == LevelError && f.Waived == "":
			if first == nil {
				first = &r.Findings[i]
			}
			errs = append(errs, f.String())
		case f.Waived != "":
			others = append(others, f.String()+" [waived: "+f.Waived+"]")
		default:
			others = append(others, f.String())
		}
	}
	switch c.Status {
	case StatusFail:
		// A check can fail with no error finding of its own; it still needs a
		// message a person can act on.
		tc.Failure = &junitFailure{Message: "check failed", Type: "fail"}
		if first != nil {
			tc.Failure.Message = first.Message
			if len(errs) > 1 {
				tc.Failure.Message += fmt.Sprintf(" (and %d more)", len(errs)-1)
			}
			tc.Failure.Type = first.ID
			tc.Failure.Text = strings.Join(errs, "\n")
		}
	case StatusSkip:
		tc.Skipped = &struct{}{}
		others = append(errs, others...)
	default:
		others = append(errs, others...)
	}
	tc.SystemOut = strings.Join(others, "\n")
	return tc, nil
}

// suiteNames lists the suites in the report's order, then any suite that
// only a check names, in the order the checks name it.
func (r *Report) suiteNames() []string {
	var names []string
	for _, s := range r.Suites {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	for _, c := range r.Checks {
		if !slices.Contains(names, c.Suite) {
			names = append(names, c.Suite)
		}
	}
	return names
}

// seconds formats d in seconds with three decimals, as JUnit wants it.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// Markdown limits: a pull-request comment should stay short.
const (
	markdownFindings  = 50
	markdownDiffLines = 30
)

// Markdown writes a summary of the report fit for a pull-request comment
// or a GitHub step summary: the result, the counts, a table of suites and
// one of scenarios, the error and warning findings (the first 50) and the
// golden-file differences of failing scenarios (the first 30 lines of
// each). Text from the report is escaped, so a message cannot break a
// table or turn into markup.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s %s: tether %s", statusMark(r.passed()), statusWord(r.passed()), mdText(r.Connector.Name))
	if r.Connector.Version != "" {
		fmt.Fprintf(&b, " %s", mdText(r.Connector.Version))
	}
	b.WriteString("\n\n")
	b.WriteString(mdText(r.countLine()) + "\n")

	if len(r.Suites) > 0 {
		b.WriteString("\n### Suites\n\n")
		b.WriteString("| Suite | Status | Checks | Failed | Errors | Warnings | Time |\n")
		b.WriteString("|---|---|--:|--:|--:|--:|--:|\n")
		for _, s := range r.Suites {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %s s |\n",
				mdCell(s.Name), mdStatus(s.Status), s.Checks, s.Failed, s.Errors, s.Warnings, seconds(r.Timings.Suites[s.Name]))
		}
	}

	if len(r.Scenarios) > 0 {
		b.WriteString("\n### Scenarios\n\n")
		b.WriteString("| Scenario | Expected | Outcomes | Calls | Status |\n")
		b.WriteString("|---|---|---|--:|---|\n")
		for _, s := range r.Scenarios {
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %s |\n",
				mdCell(s.Name), mdCell(s.Expected), mdCell(strings.Join(s.Outcomes, ", ")), s.Calls, mdStatus(s.Status))
		}
	}

	if len(r.Releases) > 0 {
		b.WriteString("\n### Compatibility\n\n")
		if c := r.Compatibility; c != nil {
			fmt.Fprintf(&b, "%s after %s needs a %s bump: %s.\n\n", mdText(c.Version), mdText(c.BaselineVersion), mdText(c.RequiredBump),
				map[bool]string{true: "satisfied", false: "not satisfied"}[c.Satisfied])
		}
		b.WriteString("| Release | Version | Contract | Config | Manifest | Replay | Semver |\n")
		b.WriteString("|---|---|---|---|---|---|---|\n")
		for _, w := range r.Releases {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", mdCell(w.Release), mdCell(w.Version),
				mdStatus(w.Contract), mdStatus(w.Config), mdStatus(w.Manifest), mdStatus(w.Replay), mdStatus(w.Semver))
		}
	}

	var shown []Finding
	for _, level := range []string{LevelError, LevelWarning} {
		for _, f := range r.Findings {
			if f.Level == level {
				shown = append(shown, f)
			}
		}
	}
	if len(shown) > 0 {
		b.WriteString("\n### Findings\n\n")
		for i, f := range shown {
			if i == markdownFindings {
				fmt.Fprintf(&b, "\n%d more error and warning findings are left out; the JSON report has them all.\n", len(shown)-markdownFindings)
				break
			}
			b.WriteString(mdFinding(f) + "\n")
		}
	}

	for _, s := range r.Scenarios {
		if s.Status != StatusFail || len(s.Diff) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### Golden diff: %s\n\n", mdText(s.Name))
		lines := s.Diff
		if len(lines) > markdownDiffLines {
			lines = lines[:markdownDiffLines]
		}
		// Diff lines may hold newlines of their own; the block holds them.
		body := strings.Join(lines, "\n")
		if len(s.Diff) > markdownDiffLines {
			body += fmt.Sprintf("\n… %d more lines", len(s.Diff)-markdownDiffLines)
		}
		fence := codeFence(body)
		b.WriteString(fence + "\n" + body + "\n" + fence + "\n")
	}

	fmt.Fprintf(&b, "\n%s\n", mdText(r.runLine()))
	_, err := io.WriteString(w, b.String())
	return err
}

// passed reports whether the run passed; a missing status is a failure,
// so that a half-made report never shows as a pass.
func (r *Report) passed() bool { return r.Summary.Status == StatusPass }

func statusWord(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

func statusMark(pass bool) string {
	if pass {
		return "✅"
	}
	return "❌"
}

// countLine is the run's counts in one line.
func (r *Report) countLine() string {
	skipped := 0
	for _, c := range r.Checks {
		if c.Status == StatusSkip {
			skipped++
		}
	}
	s := fmt.Sprintf("%s, %d failed", plural(r.Summary.Checks, "check"), r.Summary.Failed)
	if skipped > 0 {
		s += fmt.Sprintf(", %d skipped", skipped)
	}
	s += fmt.Sprintf(" · %s, %s, %s", plural(r.Summary.Errors, "error"), plural(r.Summary.Warnings, "warning"), plural(r.Summary.Infos, "info"))
	if r.Summary.Waived > 0 {
		s += fmt.Sprintf(", %d waived", r.Summary.Waived)
	}
	s += fmt.Sprintf(" · %s · %s s", plural(len(r.Scenarios), "scenario"), seconds(r.Timings.Total))
	return s
}

// runLine says what is needed to reproduce the run.
func (r *Report) runLine() string {
	parts := []string{fmt.Sprintf("seed %d", r.Run.Seed)}
	if r.Run.Target != "" {
		parts = append(parts, "target "+r.Run.Target)
	}
	if r.Run.Sandbox != "" {
		parts = append(parts, "sandbox "+r.Run.Sandbox)
	}
	if r.Tools.Tether != "" {
		parts = append(parts, "tether "+r.Tools.Tether)
	}
	if r.Tools.Go != "" {
		parts = append(parts, r.Tools.Go)
	}
	return strings.Join(parts, " · ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func mdStatus(status string) string {
	switch status {
	case StatusPass:
		return "✅ pass"
	case StatusFail:
		return "❌ fail"
	case StatusSkip:
		return "⏭️ skip"
	}
	return mdCell(status)
}

func mdFinding(f Finding) string {
	mark := "❌"
	switch {
	case f.Waived != "":
		mark = "➖"
	case f.Level == LevelWarning:
		mark = "⚠️"
	}
	s := fmt.Sprintf("- %s %s %s", mark, f.Level, codeSpan(f.ID))
	if f.Location != "" {
		s += " at " + codeSpan(f.Location)
	}
	s += ": " + mdText(f.Message)
	if f.Hint != "" {
		s += " (" + mdText(f.Hint) + ")"
	}
	if f.Waived != "" {
		s += " **waived:** " + mdText(f.Waived)
	}
	return s
}

// mdText escapes s for Markdown text: each character that could start
// markup is backslash-escaped, and a newline becomes <br>, so the text
// stays on its line (a table row or a list item).
func mdText(s string) string {
	var b strings.Builder
	for _, c := range strings.ReplaceAll(s, "\r\n", "\n") {
		switch c {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '&', '|', '~':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\n', '\r':
			b.WriteString("<br>")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// mdCell is mdText for a table cell, where an empty cell reads as a dash.
func mdCell(s string) string {
	if s == "" {
		return "–"
	}
	return mdText(s)
}

// codeSpan puts s in a code span whose backtick run is longer than any in
// s. A newline becomes a space and a pipe is escaped, which GitHub honours
// inside code spans in tables too.
func codeSpan(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`).Replace(s)
	ticks := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return ticks + s + ticks
}

// codeFence is a fence longer than any run of backticks in body.
func codeFence(body string) string {
	return strings.Repeat("`", max(3, longestRun(body, '`')+1))
}

func longestRun(s string, c rune) int {
	longest, n := 0, 0
	for _, r := range s {
		if r == c {
			n++
			longest = max(longest, n)
		} else {
			n = 0
		}
	}
	return longest
}

// HTML writes the report as one self-contained HTML page: inline CSS, no
// script and nothing loaded from elsewhere, so it can be kept as a CI
// artifact and opened offline. The page marks what tests and scripts look
// for: the element with id "status" holds exactly PASS or FAIL, id
// "summary" the counts; the tables have ids "suites" and "scenarios", each
// scenario row carries data-scenario and data-status; each finding is an
// element of class "finding" with data-id and data-level; each failing
// scenario's golden diff is in a pre of class "diff".
func (r *Report) HTML(w io.Writer) error {
	page := htmlPage{
		Connector: r.Connector,
		Findings:  r.Findings,
		Status:    statusWord(r.passed()),
		Pass:      r.passed(),
		Summary:   r.countLine(),
		RunLine:   r.runLine(),
		Total:     seconds(r.Timings.Total),
		Releases:  r.Releases,
	}
	for _, s := range r.Suites {
		page.Suites = append(page.Suites, htmlSuite{SuiteReport: s, Time: seconds(r.Timings.Suites[s.Name])})
	}
	for _, s := range r.Scenarios {
		row := htmlScenario{ScenarioReport: s, Outcomes: strings.Join(s.Outcomes, ", ")}
		if d, ok := r.Timings.Scenarios[s.Name]; ok {
			row.Time = seconds(d) + " s"
		}
		page.Scenarios = append(page.Scenarios, row)
		if s.Status == StatusFail && len(s.Diff) > 0 {
			diff := htmlDiff{Scenario: s.Name}
			for _, line := range s.Diff {
				diff.Lines = append(diff.Lines, htmlDiffLine{Text: line, Class: diffClass(line)})
			}
			page.Diffs = append(page.Diffs, diff)
		}
	}
	var buf bytes.Buffer
	if err := htmlReport.Execute(&buf, page); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

type htmlPage struct {
	Connector ConnectorInfo
	Findings  []Finding
	Status    string
	Pass      bool
	Summary   string
	RunLine   string
	Total     string
	Suites    []htmlSuite
	Scenarios []htmlScenario
	Diffs     []htmlDiff
	Releases  []ReleaseRow
}

type htmlSuite struct {
	SuiteReport
	Time string
}

type htmlScenario struct {
	ScenarioReport
	Outcomes string
	Time     string
}

type htmlDiff struct {
	Scenario string
	Lines    []htmlDiffLine
}

type htmlDiffLine struct {
	Text  string
	Class string
}

// diffClass colours a diff line by its first character, as a unified
// diff would mark it.
func diffClass(line string) string {
	switch {
	case strings.HasPrefix(line, "+"):
		return "add"
	case strings.HasPrefix(line, "-"):
		return "del"
	}
	return ""
}

// htmlReport is parsed once and only executed after, which is safe from
// several goroutines.
var htmlReport = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Status}} · tether {{.Connector.Name}} {{.Connector.Version}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem;margin:0 0 .3rem}
h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td{white-space:pre-wrap}
.pass{color:#1a7f37}.fail{color:#cf222e}.skip{color:#6e7781}
#status{display:inline-block;padding:.1rem .6rem;border-radius:.3rem;color:#fff;font-weight:700}
#status.pass{background:#1a7f37}#status.fail{background:#cf222e}
.finding{margin:.3rem 0;white-space:pre-wrap}
.finding[data-level=error]{border-left:4px solid #cf222e;padding-left:.5rem}
.finding[data-level=warning]{border-left:4px solid #bf8700;padding-left:.5rem}
.finding[data-level=info]{border-left:4px solid #6e7781;padding-left:.5rem}
.finding.waived{opacity:.7}
code,pre{font:12px/1.4 ui-monospace,monospace}
pre.diff{background:#f6f8fa;border:1px solid #d0d7de;padding:.6rem;overflow-x:auto}
pre.diff .add{color:#1a7f37}pre.diff .del{color:#cf222e}
.meta{color:#6e7781}
ul{list-style:none;padding:0}
</style>
</head>
<body>
<header>
<h1>tether {{.Connector.Name}} {{.Connector.Version}} <span id="status" class="{{if .Pass}}pass{{else}}fail{{end}}">{{.Status}}</span></h1>
{{with .Connector.Summary}}<p>{{.}}</p>{{end}}
<p id="summary">{{.Summary}}</p>
<p class="meta">{{.RunLine}}</p>
</header>
<main>
<h2>Suites</h2>
<table id="suites">
<thead><tr><th>Suite</th><th>Status</th><th>Checks</th><th>Failed</th><th>Errors</th><th>Warnings</th><th>Time</th></tr></thead>
<tbody>
{{- range .Suites}}
<tr data-suite="{{.Name}}" data-status="{{.Status}}"><td>{{.Name}}</td><td class="{{.Status}}">{{.Status}}</td><td class="n">{{.Checks}}</td><td class="n">{{.Failed}}</td><td class="n">{{.Errors}}</td><td class="n">{{.Warnings}}</td><td class="n">{{.Time}} s</td></tr>
{{- end}}
</tbody>
</table>
<h2>Scenarios</h2>
<table id="scenarios">
<thead><tr><th>Scenario</th><th>Expected</th><th>Outcomes</th><th>Calls</th><th>Time</th><th>Status</th></tr></thead>
<tbody>
{{- range .Scenarios}}
<tr data-scenario="{{.Name}}" data-status="{{.Status}}"><td title="{{.File}}">{{.Name}}</td><td>{{.Expected}}</td><td>{{.Outcomes}}</td><td class="n">{{.Calls}}</td><td class="n">{{.Time}}</td><td class="{{.Status}}">{{.Status}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .Releases}}
<h2>Compatibility</h2>
<table id="releases">
<thead><tr><th>Release</th><th>Version</th><th>Contract</th><th>Config</th><th>Manifest</th><th>Replay</th><th>Semver</th></tr></thead>
<tbody>
{{- range .Releases}}
<tr data-release="{{.Release}}"><td>{{.Release}}</td><td>{{.Version}}</td><td class="{{.Contract}}">{{.Contract}}</td><td class="{{.Config}}">{{.Config}}</td><td class="{{.Manifest}}">{{.Manifest}}</td><td class="{{.Replay}}">{{.Replay}}</td><td class="{{.Semver}}">{{.Semver}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
<h2>Findings</h2>
<ul id="findings">
{{- range .Findings}}
<li class="finding{{if .Waived}} waived{{end}}" data-id="{{.ID}}" data-level="{{.Level}}"><strong>{{.Level}}</strong> <code>{{.ID}}</code>{{with .Location}} at <code>{{.}}</code>{{end}}: <span class="message">{{.Message}}</span>{{with .Hint}} <span class="hint">({{.}})</span>{{end}}{{with .Waived}} <em>waived: {{.}}</em>{{end}}</li>
{{- else}}
<li>None.</li>
{{- end}}
</ul>
{{- range .Diffs}}
<h2>Golden diff: {{.Scenario}}</h2>
<pre class="diff" data-scenario="{{.Scenario}}">{{range $i, $l := .Lines}}{{if $i}}
{{end}}<span{{with .Class}} class="{{.}}"{{end}}>{{.Text}}</span>{{end}}</pre>
{{- end}}
</main>
</body>
</html>
`))
