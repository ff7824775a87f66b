package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
)

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
		Summary:   r.CountLine(),
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
<li class="finding{{if .Waived}} waived{{end}}" data-id="{{.ID}}" data-level="{{.Level}}"><strong>{{.Level}}</strong> <code>{{.ID}}</code>{{if .Position.Known}} at <code>{{.Position}}</code>{{end}}{{with .Path}} <code>{{.}}</code>{{end}}: <span class="message">{{.Message}}</span>{{with .ContractShown}} (contract <code>{{.}}</code>){{end}}{{with .Hint}} <span class="hint">({{.}})</span>{{end}}{{with .Waived}} <em>waived: {{.}}</em>{{end}}</li>
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
