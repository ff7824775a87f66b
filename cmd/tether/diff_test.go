package main

import (
	"encoding/json"
	"encoding/xml"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
)

// The pairs under testdata/diff. base -> revision removes DELETE
// /pets/{petId} (an error), removes the optional response property tag,
// adds the enum value "pending" to status (warnings) and adds an optional
// query parameter (info); base -> enum makes only the last two.
const (
	petsBase     = "testdata/diff/pets_base.yaml"
	petsRevision = "testdata/diff/pets_revision.yaml"
	petsEnum     = "testdata/diff/pets_enum.yaml"
	oddBase      = "testdata/diff/odd_base.yaml"
	oddRevision  = "testdata/diff/odd_revision.yaml"
	brokenYAML   = "testdata/diff/broken.yaml"
)

func TestDiffExitCodes(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		reason string
	}{
		{[]string{petsBase, petsRevision}, exitFindings, "an operation removed is an error"},
		{[]string{petsBase, petsEnum}, exitOK, "warnings and info do not fail by default"},
		{[]string{petsBase, petsEnum, "--fail-on", "warning"}, exitFindings, "a new response enum value is a warning"},
		{[]string{"--fail-on", "info", petsBase, petsEnum}, exitFindings, "with info, any change fails; flags may come first"},
		{[]string{petsBase, petsBase, "--fail-on", "info"}, exitOK, "a contract compared with itself has no changes"},
		{[]string{petsBase, "testdata/diff/nosuch.yaml"}, exitCannot, "NEW cannot be read"},
		{[]string{brokenYAML, petsBase}, exitCannot, "OLD is not valid YAML"},
		{[]string{petsBase}, exitCannot, "NEW is missing"},
		{[]string{petsBase, petsEnum, petsRevision}, exitCannot, "one file too many"},
		{[]string{petsBase, petsEnum, "--format", "xml"}, exitCannot, "an unknown format"},
		{[]string{petsBase, petsEnum, "--fail-on", "fatal"}, exitCannot, "an unknown severity"},
		{[]string{petsBase, petsEnum, "--all"}, exitCannot, "--all without --usage folds nothing"},
		{[]string{petsBase, petsEnum, "--usage", "testdata/diff/nosuch"}, exitCannot, "--usage names no directory"},
		{[]string{petsBase, petsEnum, "--nosuch"}, exitCannot, "an unknown flag"},
		{[]string{"--help"}, exitOK, "help asked for"},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(append([]string{"diff"}, tt.args...)...)
		if code != tt.code {
			t.Errorf("tether diff %v exited %d, want %d (%s)\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, tt.reason, out, errs)
		}
	}
}

func TestDiffHelpTeaches(t *testing.T) {
	code, out, _ := runCLI("help", "diff")
	if code != exitOK {
		t.Fatalf("tether help diff exited %d", code)
	}
	for _, w := range []string{"OpenAPI", "Swagger 2.0", "error ", "warning ", "info ", "--usage connectors/dealnotify", "--fail-on", "githubactions", "Exit codes: 0", "Examples:"} {
		if !strings.Contains(out, w) {
			t.Errorf("diff help lacks %q:\n%s", w, out)
		}
	}
	if _, out, _ := runCLI("help"); !strings.Contains(out, "diff ") {
		t.Errorf("the overview does not list diff:\n%s", out)
	}
}

func TestDiffUnreadable(t *testing.T) {
	tests := []struct {
		args   []string
		want   string
		reason string
	}{
		{[]string{petsBase, "testdata/diff/nosuch.yaml"}, "testdata/diff/nosuch.yaml: cannot read the contract", "the missing file is named"},
		{[]string{brokenYAML, petsBase}, brokenYAML + ":7:", "the invalid file is named with its line"},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(append([]string{"diff", "--format", "json"}, tt.args...)...)
		if code != exitCannot {
			t.Errorf("tether diff %v exited %d, want %d (%s)", tt.args, code, exitCannot, tt.reason)
		}
		if !strings.Contains(errs, tt.want) {
			t.Errorf("tether diff %v printed %q on stderr; want it to contain %q (%s)", tt.args, errs, tt.want, tt.reason)
		}
		if out != "" {
			t.Errorf("tether diff %v printed %q on stdout; want nothing when it cannot run (%s)", tt.args, out, tt.reason)
		}
	}
}

func TestDiffSameContract(t *testing.T) {
	code, out, _ := runCLI("diff", petsBase, petsBase)
	if code != exitOK || strings.TrimSpace(out) != "PASS: no changes" {
		t.Errorf("diff of a contract with itself exited %d and printed:\n%s\nwant 0 and PASS: no changes", code, out)
	}
	_, out, _ = runCLI("diff", petsBase, petsBase, "--format", "json")
	r := decodeDiff(t, out)
	if len(r.Changes) != 0 || r.Summary.Changes != 0 || r.Summary.Status != "pass" {
		t.Errorf("json diff of a contract with itself: %d changes, summary %+v; want none, pass", len(r.Changes), r.Summary)
	}
	if !strings.Contains(out, `"changes": []`) {
		t.Errorf("json diff with no changes should hold \"changes\": [], not null:\n%s", out)
	}
	_, out, _ = runCLI("diff", petsBase, petsBase, "--format", "junit")
	s := decodeJUnit(t, out)
	if s.Failures != 0 || len(s.Cases) != 1 {
		t.Errorf("junit diff of a contract with itself: %d failures, %d cases; want 0 and 1", s.Failures, len(s.Cases))
	}
	if _, out, _ = runCLI("diff", petsBase, petsBase, "--format", "githubactions"); out != "" {
		t.Errorf("githubactions diff of a contract with itself printed:\n%s\nwant nothing", out)
	}
}

func TestDiffText(t *testing.T) {
	_, out, _ := runCLI("diff", petsBase, petsRevision)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 {
		t.Fatalf("text diff printed %d lines, want 6 changes and a summary:\n%s", len(lines), out)
	}
	for _, w := range []string{
		"error api-removed-without-deprecation DELETE /pets/{petId}: DELETE /pets/{petId} was removed without being deprecated first (" + petsBase + ":37:7 -> " + petsRevision + ":27:5)",
		"warning response-property-enum-value-added GET /pets/{petId}: response property $.status (200) gained the value \"pending\"",
		"warning response-optional-property-removed GET /pets: response property $[*].tag (200) was removed",
		"info new-optional-request-parameter GET /pets: query parameter offset is new and optional",
	} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, w) }) {
			t.Errorf("text diff lacks a line starting %q:\n%s", w, out)
		}
	}
	if want := "FAIL: 6 changes: 1 error, 4 warnings, 1 info; 1 at or above error"; lines[6] != want {
		t.Errorf("summary line is %q, want %q", lines[6], want)
	}
}

// diffOutput is what the tests read of --format json.
type diffOutput struct {
	Tether  string                        `json:"tether"`
	Old     struct{ File, SHA256 string } `json:"old"`
	New     struct{ File, SHA256 string } `json:"new"`
	Usage   string                        `json:"usage"`
	FailOn  string                        `json:"fail_on"`
	Changes []contracts.Change            `json:"changes"`
	Summary diffSummary                   `json:"summary"`
}

func decodeDiff(t *testing.T, out string) diffOutput {
	t.Helper()
	var r diffOutput
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode the json diff: %v\n%s", err, out)
	}
	return r
}

func TestDiffJSON(t *testing.T) {
	code, out, _ := runCLI("diff", petsBase, petsRevision, "--format", "json")
	if code != exitFindings {
		t.Errorf("json diff exited %d, want %d", code, exitFindings)
	}
	r := decodeDiff(t, out)
	if r.Old.File != petsBase || r.New.File != petsRevision || len(r.Old.SHA256) != 64 || r.Old.SHA256 == r.New.SHA256 {
		t.Errorf("json diff names old %+v and new %+v; want the files and their distinct digests", r.Old, r.New)
	}
	want := map[string]int{"api-removed-without-deprecation": 1, "response-optional-property-removed": 2,
		"response-property-enum-value-added": 2, "new-optional-request-parameter": 1}
	got := map[string]int{}
	for _, c := range r.Changes {
		got[c.ID]++
		if c.Old == nil || c.Old.File != petsBase || c.Old.Line == 0 || c.Affects != "" {
			t.Errorf("change %s: old position %v, affects %q; want a line in %s and no affects without --usage", c.ID, c.Old, c.Affects, petsBase)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("json diff has changes %v, want %v", got, want)
	}
	wantSummary := diffSummary{Status: "fail", Changes: 6, Errors: 1, Warnings: 4, Infos: 1, Counted: 6, Failing: 1}
	if r.Summary != wantSummary || r.FailOn != "error" {
		t.Errorf("json summary is %+v (fail_on %s), want %+v (fail_on error)", r.Summary, r.FailOn, wantSummary)
	}
	_, again, _ := runCLI("diff", petsBase, petsRevision, "--format", "json")
	if again != out {
		t.Errorf("two json diffs of the same pair differ:\n%s\n----\n%s", out, again)
	}
}

// junitOutput is what the tests read of --format junit: its one suite.
type junitOutput struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Cases    []struct {
		Name     string `xml:"name,attr"`
		Failures []struct {
			Type    string `xml:"type,attr"`
			Message string `xml:"message,attr"`
		} `xml:"failure"`
		SystemOut string `xml:"system-out"`
	} `xml:"testcase"`
}

func decodeJUnit(t *testing.T, out string) junitOutput {
	t.Helper()
	var doc struct {
		XMLName xml.Name      `xml:"testsuites"`
		Suites  []junitOutput `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("parse the junit diff: %v, %d suites\n%s", err, len(doc.Suites), out)
	}
	s := doc.Suites[0]
	if s.Tests != len(s.Cases) {
		t.Errorf("junit tests=%d but %d test cases", s.Tests, len(s.Cases))
	}
	return s
}

func TestDiffJUnit(t *testing.T) {
	tests := []struct {
		failOn   string
		failures map[string][]string // test case -> failure types
		reason   string
	}{
		{"error", map[string][]string{"DELETE /pets/{petId}": {"api-removed-without-deprecation"}}, "only the error fails"},
		{"warning", map[string][]string{
			"GET /pets":            {"response-optional-property-removed", "response-property-enum-value-added"},
			"DELETE /pets/{petId}": {"api-removed-without-deprecation"},
			"GET /pets/{petId}":    {"response-optional-property-removed", "response-property-enum-value-added"},
		}, "warnings fail too; the info change does not"},
	}
	for _, tt := range tests {
		_, out, _ := runCLI("diff", petsBase, petsRevision, "--format", "junit", "--fail-on", tt.failOn)
		s := decodeJUnit(t, out)
		var names []string
		total := 0
		for _, c := range s.Cases {
			names = append(names, c.Name)
			var types []string
			for _, f := range c.Failures {
				types = append(types, f.Type)
				if f.Message == "" {
					t.Errorf("--fail-on %s: failure %s in %s has no message", tt.failOn, f.Type, c.Name)
				}
			}
			total += len(types)
			if !slices.Equal(types, tt.failures[c.Name]) {
				t.Errorf("--fail-on %s: case %s fails with %v, want %v (%s)", tt.failOn, c.Name, types, tt.failures[c.Name], tt.reason)
			}
			if strings.Count(c.SystemOut, "\n") == 0 {
				t.Errorf("--fail-on %s: case %s lists no change in system-out", tt.failOn, c.Name)
			}
		}
		if want := []string{"GET /pets", "DELETE /pets/{petId}", "GET /pets/{petId}"}; !slices.Equal(names, want) {
			t.Errorf("--fail-on %s: test cases %v, want one per operation %v", tt.failOn, names, want)
		}
		if s.Failures != len(tt.failures) || total < len(tt.failures) {
			t.Errorf("--fail-on %s: failures=%d with %d failure elements; want %d failing cases", tt.failOn, s.Failures, total, len(tt.failures))
		}
	}
}

// workflowCommand is a GitHub Actions annotation: no raw , or : in the
// properties, no raw newline in the message.
var workflowCommand = regexp.MustCompile(`^::(error|warning|notice) file=[^,:\r\n]+,line=[1-9][0-9]*,col=[1-9][0-9]*,title=[^,:\r\n]+::[^\r\n]+$`)

func TestDiffGitHubActions(t *testing.T) {
	_, out, _ := runCLI("diff", petsBase, petsRevision, "--format", "githubactions")
	kinds := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m := workflowCommand.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("not a workflow command: %q", l)
			continue
		}
		kinds[m[1]]++
	}
	if want := map[string]int{"error": 1, "warning": 4, "notice": 1}; !maps.Equal(kinds, want) {
		t.Errorf("annotations %v, want %v:\n%s", kinds, want, out)
	}
	if want := "::error file=" + petsRevision + ",line=27,col=5,title=api-removed-without-deprecation::DELETE /pets/{petId}: DELETE /pets/{petId} was removed"; !strings.Contains(out, want) {
		t.Errorf("githubactions output lacks %q:\n%s", want, out)
	}

	// A property named share|50% needs its % escaped in the message.
	_, out, _ = runCLI("diff", oddBase, oddRevision, "--format", "githubactions")
	if !strings.Contains(out, `$['share|50%25']`) || strings.Contains(out, "50%'") {
		t.Errorf("githubactions output does not escape %%:\n%s", out)
	}
}

func TestDiffGitHubEscaping(t *testing.T) {
	tests := []struct {
		in, data, property string
		reason             string
	}{
		{"plain text", "plain text", "plain text", "nothing to escape"},
		{"50%", "50%25", "50%25", "% first, so the escapes are not escaped again"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab", "a newline would end the command"},
		{"a,b:c", "a,b:c", "a%2Cb%3Ac", ", and : separate properties, not the message"},
		{"%0A", "%250A", "%250A", "a literal escape stays literal"},
	}
	for _, tt := range tests {
		if got := diffGitHubData(tt.in); got != tt.data {
			t.Errorf("diffGitHubData(%q) = %q, want %q (%s)", tt.in, got, tt.data, tt.reason)
		}
		if got := diffGitHubProperty(tt.in); got != tt.property {
			t.Errorf("diffGitHubProperty(%q) = %q, want %q (%s)", tt.in, got, tt.property, tt.reason)
		}
	}
}

func TestDiffMarkdown(t *testing.T) {
	tests := []struct {
		old, new string
		rows     int
		want     []string
		reason   string
	}{
		{petsBase, petsRevision, 6, []string{"**FAIL: 6 changes", "| error | `api-removed-without-deprecation` | DELETE /pets/{petId} |"}, "one row per change"},
		{oddBase, oddRevision, 3, []string{`$\['share\|50%'\]`, `$\['\<b\>bold\</b\>'\]`}, "| and HTML in a message are escaped"},
		{petsBase, petsBase, 0, []string{"**PASS: no changes**"}, "no table without changes"},
	}
	for _, tt := range tests {
		_, out, _ := runCLI("diff", tt.old, tt.new, "--format", "markdown")
		rows := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| Level ") {
				rows++
				// An unescaped | would add a cell.
				if cells := len(unescapedPipe.FindAllString(l, -1)); cells != 7 {
					t.Errorf("row has %d unescaped | (want 7): %q (%s)", cells, l, tt.reason)
				}
			}
		}
		if rows != tt.rows {
			t.Errorf("markdown diff of %s has %d rows, want %d (%s):\n%s", tt.new, rows, tt.rows, tt.reason, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("markdown diff of %s lacks %q (%s):\n%s", tt.new, w, tt.reason, out)
			}
		}
	}
}

var unescapedPipe = regexp.MustCompile(`(^|[^\\])\|`)

func TestDiffThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1574: "1,574", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := diffThousands(n); got != want {
			t.Errorf("diffThousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// The example connector reads the deal it fetches with GET
// /deals/{dealId}; it never lists deals.
const (
	dealnotify  = "../../connectors/dealnotify"
	dealnotifyC = dealnotify + "/contracts/crm.openapi.yaml"
)

// editedCRM writes a copy of the connector's CRM contract, changed by
// edit, under the same file name (the contract is matched to the vendor by
// it), and returns its path.
func editedCRM(t *testing.T, edit func(string) string) string {
	t.Helper()
	data, err := os.ReadFile(dealnotifyC)
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(string(data))
	if edited == string(data) {
		t.Fatal("the edit changed nothing: has crm.openapi.yaml changed?")
	}
	p := filepath.Join(t.TempDir(), "crm.openapi.yaml")
	if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDiffUsage(t *testing.T) {
	// Deal loses amount, which the connector reads from GET /deals/{dealId};
	// the same schema is also returned by operations it does not call.
	noAmount := editedCRM(t, func(s string) string {
		s = strings.Replace(s, "required: [id, name, stage, amount, currency, owner, updated_at]", "required: [id, name, stage, currency, owner, updated_at]", 1)
		return strings.Replace(s, "        amount: {type: number, minimum: 0}\n", "", 1)
	})
	code, out, errs := runCLI("diff", dealnotifyC, noAmount, "--usage", dealnotify, "--format", "json")
	r := decodeDiff(t, out)
	if code != exitFindings {
		t.Errorf("amount removed from what the connector reads: exit %d, want %d\n%s", code, exitFindings, errs)
	}
	var read *contracts.Change
	for i, c := range r.Changes {
		if c.Affects != contracts.AffectsConnector && c.Affects != contracts.AffectsElsewhere {
			t.Errorf("change %s %s has affects %q", c.ID, c.Operation(), c.Affects)
		}
		if c.Operation() == "GET /deals/{dealId}" && c.Field == "$.amount" {
			read = &r.Changes[i]
		}
	}
	if read == nil {
		t.Fatalf("no change to $.amount of GET /deals/{dealId}:\n%s", out)
	}
	if read.Affects != contracts.AffectsConnector || read.Level != contracts.LevelError {
		t.Errorf("amount of GET /deals/{dealId}: %s, affects %q; want an error that affects the connector", read.Level, read.Affects)
	}
	if r.Usage != dealnotify || r.Summary.Connector == nil || r.Summary.Elsewhere == nil || *r.Summary.Connector+*r.Summary.Elsewhere != len(r.Changes) {
		t.Errorf("json summary with --usage: %+v; want the connector and elsewhere counts to add up to %d", r.Summary, len(r.Changes))
	}

	// The text lists what affects the connector and folds the rest, unless --all.
	_, out, _ = runCLI("diff", dealnotifyC, noAmount, "--usage", dealnotify)
	if !strings.Contains(out, "error response-required-property-removed GET /deals/{dealId}: response property $.amount") {
		t.Errorf("text diff with --usage does not list the change the connector reads:\n%s", out)
	}
	if strings.Contains(out, "GET /deals: ") || !regexp.MustCompile(`(?m)^\d+ response-required-property-removed elsewhere \(error\)$`).MatchString(out) {
		t.Errorf("text diff with --usage does not fold the changes elsewhere:\n%s", out)
	}
	_, out, _ = runCLI("diff", dealnotifyC, noAmount, "--usage", dealnotify, "--all")
	if !strings.Contains(out, "elsewhere, in parts of the API the connector does not use:") || !strings.Contains(out, "GET /deals: response property $.data[*].amount") {
		t.Errorf("text diff with --usage --all does not list the changes elsewhere:\n%s", out)
	}

	// Listing deals goes away: breaking, but not for this connector.
	noList := editedCRM(t, func(s string) string {
		start, end := strings.Index(s, "  /deals:\n"), strings.Index(s, "  /deals/{dealId}:\n")
		return s[:start] + s[end:]
	})
	if code, out, _ := runCLI("diff", dealnotifyC, noList); code != exitFindings {
		t.Errorf("GET /deals removed, without --usage: exit %d, want %d\n%s", code, exitFindings, out)
	}
	code, out, _ = runCLI("diff", dealnotifyC, noList, "--usage", dealnotify)
	if code != exitOK {
		t.Errorf("GET /deals removed, which the connector never calls: exit %d, want %d\n%s", code, exitOK, out)
	}
	if !regexp.MustCompile(`(?m)^1 api-path-removed-without-deprecation elsewhere \(error\)$`).MatchString(out) {
		t.Errorf("text diff with --usage does not fold the removed path:\n%s", out)
	}
	_, out, _ = runCLI("diff", dealnotifyC, noList, "--usage", dealnotify, "--format", "githubactions")
	if !strings.HasPrefix(out, "::notice title=changes elsewhere::1 change in parts of the API the connector does not use") {
		t.Errorf("githubactions with --usage does not fold the changes elsewhere into a notice:\n%s", out)
	}
}
