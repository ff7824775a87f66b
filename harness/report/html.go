package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// HTML writes the report as one self-contained HTML page: inline CSS and
// SVG, no script and nothing loaded from elsewhere, so it can be kept as a
// CI artifact and opened offline. It shows the result, the metrics, the
// coverage of each vendor as bars, each scenario's and derived case's
// timeline (deliveries, calls, retries, Retry-After waits, dead letters),
// the compatibility matrix as a grid, the findings and the golden diffs.
// Nothing is told by colour alone: every bar, step and cell says its value
// in text, and every chart has a table or list beside it.
//
// The page marks what tests and scripts look for: the element with id
// "status" holds exactly PASS or FAIL, id "summary" the counts; the tables
// have ids "suites" and "scenarios", each scenario row carries
// data-scenario and data-status; each finding is an element of class
// "finding" with data-id and data-level; each failing scenario's golden
// diff is in a pre of class "diff"; "metrics", "coverage" and "timelines"
// hold those sections, each timeline carries data-run and data-status,
// each of its steps data-kind.
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
		Metrics:   r.htmlMetrics(),
		Coverage:  htmlCoverageOf(r.Coverage),
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
		if len(s.Timeline) > 0 {
			page.Timelines = append(page.Timelines, htmlTimelineOf("replay", s.Name, s.Status, s.Timeline))
		}
		if s.Status == StatusFail && len(s.Diff) > 0 {
			diff := htmlDiff{Scenario: s.Name}
			for _, line := range s.Diff {
				diff.Lines = append(diff.Lines, htmlDiffLine{Text: line, Class: diffClass(line)})
			}
			page.Diffs = append(page.Diffs, diff)
		}
	}
	for _, c := range r.Cases {
		page.Timelines = append(page.Timelines, htmlTimelineOf(c.Suite, c.Name, c.Status, c.Timeline))
	}
	for i := range page.Timelines {
		t := &page.Timelines[i]
		t.Anchor = fmt.Sprintf("run-%d", i+1)
		if t.Status == StatusFail {
			page.FailingRuns = append(page.FailingRuns, *t)
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
	Metrics   htmlMetrics
	Coverage  *htmlCoverage
	Timelines []htmlTimeline
	// FailingRuns are the timelines of failing runs, listed first.
	FailingRuns []htmlTimeline
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
h3{font-size:1rem;margin:1rem 0 .3rem}
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
.tiles{display:flex;flex-wrap:wrap;gap:.5rem;margin:0;padding:0}
.tile{border:1px solid #d0d7de;border-radius:.3rem;padding:.3rem .7rem;min-width:7rem}
.tile dt{color:#57606a;font-size:12px}.tile dd{margin:0;font-weight:700;font-variant-numeric:tabular-nums}
.bars{border:0;width:auto}.bars th,.bars td{border:0;padding:.15rem .6rem .15rem 0;background:none;font-weight:normal;white-space:nowrap}
.bar .track{fill:#eaeef2}.bar .good{fill:#1a7f37}.bar .fair{fill:#bf8700}.bar .poor{fill:#cf222e;stroke:#24292f;stroke-width:2;stroke-dasharray:3 2}
.vendor{border:1px solid #d0d7de;border-radius:.3rem;padding:.4rem .8rem;margin:.5rem 0}
.missed{color:#cf222e}
details{margin:.3rem 0}
.runs{list-style:none;padding:0;margin:0}
.run{border-left:4px solid #1a7f37;padding:.2rem .6rem;margin:.35rem 0}
.run[data-status=fail]{border-left:4px dashed #cf222e;background:#fff5f5}
.run h3{display:inline;font-size:13px;margin:0 .5rem 0 0}
ol.timeline{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem;padding:0;margin:.2rem 0}
.step{border:1px solid #8c959f;border-radius:.25rem;padding:0 .35rem;font-size:12px;background:#f6f8fa}
.step[data-kind=delivery]{border-color:#0969da;background:#ddf4ff}
.step[data-kind=wait]{border-style:dashed;background:#fff8c5}
.step.retry{border-width:2px}
.step.bad{border-color:#cf222e;background:repeating-linear-gradient(45deg,#ffebe9 0 4px,#fff 4px 8px)}
.step[data-kind=dead-letter]{border:3px double #24292f;background:#eaeef2;font-weight:700}
.sym{font-weight:700;margin-right:.2rem}
#releases td.cell{text-align:center;font-weight:700}
#releases td.cell.pass{background:#dafbe1;color:#116329}
#releases td.cell.fail{background:repeating-linear-gradient(45deg,#ffebe9 0 5px,#ffd8d3 5px 10px);color:#a40e26}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
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
{{- with .FailingRuns}}
<section aria-labelledby="failing-h">
<h2 id="failing-h">Failing runs</h2>
<ul>
{{- range .}}
<li class="fail"><a href="#{{.Anchor}}">✗ {{.Summary}}</a></li>
{{- end}}
</ul>
</section>
{{- end}}
<section id="metrics" aria-labelledby="metrics-h">
<h2 id="metrics-h">Metrics</h2>
<dl class="tiles">
{{- range .Metrics.Tiles}}
<div class="tile"><dt>{{.Label}}</dt><dd>{{.Value}}</dd></div>
{{- end}}
</dl>
{{- with .Metrics.Errors}}
<table class="bars" id="errors">
<caption class="sr">Failed deliveries by error class</caption>
<thead><tr><th scope="col">Error class</th><th scope="col">Failed deliveries</th></tr></thead>
<tbody>
{{- range .}}
<tr><th scope="row">{{.Class}}</th><td><svg class="bar" width="{{.Width}}" height="10" aria-hidden="true"><rect class="poor" width="{{.Width}}" height="10"/></svg> {{.Count}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
</section>
{{- with .Coverage}}
<section id="coverage" aria-labelledby="coverage-h">
<h2 id="coverage-h">Coverage</h2>
<p class="meta">Of what each vendor's contract declares: what the connector uses (its cassettes, golden files and calls), and what the suites exercised. Bars: green from 80%, amber from 50%, red with a dashed edge below; each says its value in words.</p>
{{- range .Vendors}}
<div class="vendor" data-vendor="{{.Vendor}}">
<h3>{{.Vendor}} <span class="meta">{{len .Used}} of {{.Declared}} declared operations used · <code>{{.Contract}}</code></span></h3>
<table class="bars">
<caption class="sr">Coverage of {{.Vendor}}</caption>
<tbody>
{{- range .Bars}}
<tr><th scope="row">{{.Label}}</th><td><svg class="bar" width="240" height="12" role="img" aria-label="{{.Label}}: {{.Value}}"><title>{{.Label}}: {{.Value}}</title><rect class="track" width="240" height="12"/><rect class="{{.Band}}" width="{{.Fill}}" height="12"/></svg></td><td class="n">{{.Value}}</td></tr>
{{- end}}
</tbody>
</table>
{{- with .Missed}}
<p class="missed">Missed: {{range $i, $m := .}}{{if $i}}, {{end}}<code>{{$m}}</code>{{end}}</p>
{{- end}}
<details>
<summary>Operations of {{.Vendor}}</summary>
<table>
<thead><tr><th scope="col">Operation</th><th scope="col">Exercised</th><th scope="col">Declared statuses</th><th scope="col">Transport faults</th><th scope="col">Request fields</th></tr></thead>
<tbody>
{{- range .Operations}}
<tr><td><code>{{.ID}}</code> {{.Method}} {{.Path}}</td><td>{{if .Exercised}}✓ yes{{else}}✗ no{{end}}</td><td>{{range $i, $s := .Statuses}}{{if $i}} {{end}}{{if $s.Answered}}✓{{else}}✗{{end}}{{$s.Status}}{{end}}</td><td>{{range $i, $f := .Faults}}{{if $i}}, {{end}}{{$f}}{{else}}none{{end}}</td><td>{{range $i, $f := .Fields}}{{if $i}} {{end}}{{if $f.Sent}}✓{{else}}✗{{end}}{{$f.Name}}{{if $f.Required}}*{{end}}{{else}}no body schema{{end}}{{with .Undeclared}}; not in the schema: {{range $i, $f := .}}{{if $i}}, {{end}}{{$f}}{{end}}{{end}}</td></tr>
{{- end}}
</tbody>
</table>
<p class="meta">✓ answered or sent, ✗ not; * required.</p>
</details>
</div>
{{- end}}
{{- with .Events}}
<div class="vendor" data-vendor="events">
<h3>events <span class="meta"><code>{{.Contract}}</code></span></h3>
<table class="bars"><caption class="sr">Coverage of the events</caption><tbody>
{{- range $.Coverage.Bars}}
<tr><th scope="row">{{.Label}}</th><td><svg class="bar" width="240" height="12" role="img" aria-label="{{.Label}}: {{.Value}}"><title>{{.Label}}: {{.Value}}</title><rect class="track" width="240" height="12"/><rect class="{{.Band}}" width="{{.Fill}}" height="12"/></svg></td><td class="n">{{.Value}}</td></tr>
{{- end}}
</tbody></table>
{{- with .Missed}}
<p class="missed">Never delivered: {{range $i, $m := .}}{{if $i}}, {{end}}<code>{{$m}}</code>{{end}}</p>
{{- end}}
</div>
{{- end}}
</section>
{{- end}}
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
{{- with .Timelines}}
<section id="timelines" aria-labelledby="timelines-h">
<h2 id="timelines-h">Timelines</h2>
<p class="meta">Each run in order: ▶ delivery, ● call, ↻ retry, ✕ error answer or fault, ‖ Retry-After wait, ✉ dead letter.</p>
<ul class="runs">
{{- range .}}
<li class="run" id="{{.Anchor}}" data-run="{{.Name}}" data-suite="{{.Suite}}" data-status="{{.Status}}">
<h3>{{if eq .Status "fail"}}✗ FAIL{{else}}✓ pass{{end}} · {{.Suite}} · {{.Name}}</h3>
<ol class="timeline" aria-label="{{.Summary}}">
{{- range .Steps}}
<li class="step{{if .Bad}} bad{{end}}{{if .Retry}} retry{{end}}" data-kind="{{.Kind}}"><span class="sym" aria-hidden="true">{{.Symbol}}</span>{{.Text}}</li>
{{- end}}
</ol>
</li>
{{- end}}
</ul>
</section>
{{- end}}
{{- if .Releases}}
<h2>Compatibility</h2>
<table id="releases">
<caption class="sr">Compatibility with earlier releases: one row per release, one column per part of the comparison</caption>
<thead><tr><th scope="col">Release</th><th scope="col">Version</th><th scope="col">Contract</th><th scope="col">Config</th><th scope="col">Manifest</th><th scope="col">Replay</th><th scope="col">Semver</th></tr></thead>
<tbody>
{{- range .Releases}}
<tr data-release="{{.Release}}"><th scope="row">{{.Release}}</th><td>{{.Version}}</td>{{template "cell" .Contract}}{{template "cell" .Config}}{{template "cell" .Manifest}}{{template "cell" .Replay}}{{template "cell" .Semver}}</tr>
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
{{- define "cell"}}<td class="cell {{.}}">{{if eq . "pass"}}✓ pass{{else}}✗ {{.}}{{end}}</td>{{end}}
`))
