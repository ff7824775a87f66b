package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/internal/dockertest"
)

const exampleDir = "../../connectors/dealnotify"

// The release flow on both examples, with the sandbox in a container per
// scenario as CI runs it: gate, package, verify.
func TestGateWithContainerSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox container per scenario and case; skipped with -short")
	}
	dockertest.Require(t)
	for _, dir := range []string{exampleDir, "../../connectors/escalate"} {
		out := t.TempDir()
		code, stdout, stderr := runCLI("gate", dir, "--sandbox", "container", "--out", out)
		if code != exitOK || !strings.Contains(stdout, "gate: PASS") {
			t.Errorf("gate %s --sandbox container: exit %d\n%s\n%s", dir, code, stdout, tailLines(stderr, 30))
		}
		data, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err != nil || !strings.Contains(string(data), `"sandbox": "container"`) {
			t.Errorf("%s: report.json does not say the sandbox ran in a container (%v)", dir, err)
		}
		// The rest of the release flow: package from that report, then
		// verify the bundle as a marketplace would.
		bundle := filepath.Join(out, "release.tar.gz")
		code, stdout, stderr = runCLI("package", dir, "--report", filepath.Join(out, "report.json"), "--out", bundle)
		if code != exitOK || !strings.Contains(stdout, "sha256:") {
			t.Errorf("package %s: exit %d\n%s\n%s", dir, code, stdout, tailLines(stderr, 30))
			continue
		}
		code, stdout, stderr = runCLI("verify", bundle)
		if code != exitOK || !strings.Contains(stdout, "OK") {
			t.Errorf("verify %s: exit %d\n%s\n%s", bundle, code, stdout, stderr)
		}
	}
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tether gate on each example passes and writes every format, each
// readable as what it claims to be.
func TestGateWritesEveryFormat(t *testing.T) {
	for _, dir := range []string{exampleDir, "../../connectors/escalate"} {
		gateWritesEveryFormat(t, dir)
	}
}

func gateWritesEveryFormat(t *testing.T, dir string) {
	out := t.TempDir()
	code, stdout, stderr := runCLI("gate", dir, "--out", out)
	if code != exitOK {
		t.Fatalf("gate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "gate: PASS") || !strings.Contains(stderr, "duplicate") {
		t.Errorf("stdout %q, stderr %q: want the verdict and progress per scenario", stdout, stderr)
	}
	var rep struct {
		Version int `json:"version"`
		Summary struct {
			Status string `json:"status"`
			Checks int    `json:"checks"`
		} `json:"summary"`
	}
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil || json.Unmarshal(data, &rep) != nil || rep.Version != report.Version || rep.Summary.Status != "pass" || rep.Summary.Checks == 0 {
		t.Errorf("report.json: %+v, %v", rep, err)
	}
	var junit struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	data, err = os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil || xml.Unmarshal(data, &junit) != nil || junit.Tests != rep.Summary.Checks || junit.Failures != 0 {
		t.Errorf("junit.xml: %+v, %v; want %d tests", junit, err, rep.Summary.Checks)
	}
	for _, f := range []string{"summary.md", "report.html", "timings.json"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// An expired waiver fails the gate, and bad input cannot run.
func TestGateExitCodes(t *testing.T) {
	policy := filepath.Join(t.TempDir(), "gate.yaml")
	os.WriteFile(policy, []byte("waivers:\n  - {id: scope-unused, reason: kept for a later release, expires: 2020-01-01}\n"), 0o644)
	code, stdout, _ := runCLI("gate", exampleDir, "--out", t.TempDir(), "--policy", policy, "--suite-is-not-a-flag")
	if code != exitCannot {
		t.Errorf("an unknown flag: exit %d, want %d", code, exitCannot)
	}
	code, stdout, _ = runCLI("gate", exampleDir, "--out", t.TempDir(), "--policy", policy)
	if code != exitFindings || !strings.Contains(stdout, "waiver-expired") || !strings.Contains(stdout, "gate: FAIL") {
		t.Errorf("an expired waiver: exit %d\n%s", code, stdout)
	}
	code, _, stderr := runCLI("gate", t.TempDir())
	if code != exitCannot || !strings.Contains(stderr, "connector.yaml") {
		t.Errorf("a directory without a manifest: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCLI("test", exampleDir, "--suite", "compat")
	if code != exitCannot || !strings.Contains(stderr, `--suite "compat"`) {
		t.Errorf("an unknown suite: exit %d, %q", code, stderr)
	}
}

func TestTestRunsOneSuite(t *testing.T) {
	code, stdout, stderr := runCLI("test", exampleDir, "--suite", "replay", "--parallel", "2")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "replay") || strings.Contains(stdout, "negative ") {
		t.Errorf("stdout %q: want the replay suite alone", stdout)
	}
}

// The console line of a finding names its payload path and the place in
// the contract, as the report does.
func TestSummaryLineNamesPathAndContract(t *testing.T) {
	var f report.Finding
	f.Level, f.ID, f.Suite, f.Check = contracts.LevelError, "event-payload-invalid", report.SuiteContract, "events"
	f.Position = contracts.Position{File: "events/issue-opened.yaml"}
	f.Path = "$.issue.number"
	f.Contract = contracts.Position{File: "contracts/common/issue.schema.json", Line: 14, Column: 17}
	f.Message = "got string, want integer"
	var out bytes.Buffer
	printSummary(&environ{stdout: &out}, &report.Report{Findings: []report.Finding{f}})
	want := "error contract/events: event-payload-invalid events/issue-opened.yaml $.issue.number: got string, want integer [contract contracts/common/issue.schema.json:14:17]"
	if !strings.Contains(out.String(), want) {
		t.Errorf("got:\n%s\nwant a line:\n%s", out.String(), want)
	}
}
