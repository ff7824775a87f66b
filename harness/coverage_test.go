package harness

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
)

// coverageOfRun runs the replay suite over the connector in dir, gated
// with the policy text, and returns the gated report.
func coverageOfRun(t *testing.T, dir, policy string) *report.Report {
	t.Helper()
	c, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := report.ParsePolicy("policy.yaml", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Execute(t.Context(), c, Drive(InProcess(dealnotify.Setup)), Only(report.SuiteReplay), WithPolicy(p), Parallel(8))
	if err != nil {
		t.Fatal(err)
	}
	if r.Coverage == nil {
		t.Fatal("the report holds no coverage")
	}
	return r
}

func vendorCoverage(t *testing.T, r *report.Report, vendor string) report.VendorCoverage {
	t.Helper()
	for _, v := range r.Coverage.Vendors {
		if v.Vendor == vendor {
			return v
		}
	}
	t.Fatalf("the coverage has no vendor %s", vendor)
	return report.VendorCoverage{}
}

// coverageFindings are the messages of r's coverage findings about vendor.
func coverageFindings(r *report.Report, vendor string) []string {
	var out []string
	for _, f := range r.Findings {
		if f.ID == report.RuleCoverageBelowMinimum && strings.HasPrefix(f.Message, vendor+":") {
			out = append(out, f.Message)
		}
	}
	return out
}

// TestCoverageDropsWithAScenario: dealnotify's scenarios make the chat
// vendor answer 200, 429 and 503; without the scenario whose chat stays
// down, 503 is never answered, the chat's declared-status coverage drops
// and the policy's minimum fails the gate naming postMessage 503.
func TestCoverageDropsWithAScenario(t *testing.T) {
	const policy = "coverage: {used-operations: 100, declared-statuses: 40}\n"
	full := coverageOfRun(t, dealnotifyDir, policy)
	chat := vendorCoverage(t, full, "chat")
	if got := coverageFindings(full, "chat"); len(got) > 0 {
		t.Errorf("with every scenario the chat's coverage fails the policy: %q", got)
	}
	if !slices.Contains(chat.Used, "postMessage") || !slices.Contains(chat.Exercised, "postMessage") {
		t.Errorf("chat coverage %+v: want postMessage used and exercised", chat)
	}

	dir := copyDir(t, dealnotifyDir)
	if err := os.Remove(filepath.Join(dir, "scenarios", "chat-unavailable.yaml")); err != nil {
		t.Fatal(err)
	}
	less := coverageOfRun(t, dir, policy)
	chatLess := vendorCoverage(t, less, "chat")
	if chatLess.DeclaredStatuses.Covered != chat.DeclaredStatuses.Covered-1 || chatLess.DeclaredStatuses.Percent >= 40 {
		t.Errorf("without chat-unavailable the chat's declared statuses are %s; with it %s: want one fewer, below 40%%", chatLess.DeclaredStatuses, chat.DeclaredStatuses)
	}
	if less.Summary.Status != report.StatusFail {
		t.Errorf("the gate passed with the chat's declared statuses at %s, below the policy's 40%%", chatLess.DeclaredStatuses)
	}
	got := coverageFindings(less, "chat")
	if len(got) != 1 || !strings.Contains(got[0], "declared statuses") || !strings.Contains(got[0], "postMessage 503") {
		t.Errorf("coverage findings about chat: %q; want one naming postMessage 503 as missed", got)
	}
	checkRegistered(t, less.Findings)
}
