package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
)

// policyChildDir names the connector TestPolicyChild tests, when the test
// binary runs it as a child of TestTestTakesThePolicy.
const policyChildDir = "TETHER_POLICY_CHILD_DIR"

// TestPolicyChild is Test over a connector with a stale cassette, run by
// TestTestTakesThePolicy in a child process so that its failure can be
// observed rather than failing this package.
func TestPolicyChild(t *testing.T) {
	dir := os.Getenv(policyChildDir)
	if dir == "" {
		t.Skip("run as a child process by TestTestTakesThePolicy")
	}
	Test(t, dir, Drive(InProcess(dealnotify.Setup)), Only(report.SuiteContract))
}

// TestTestTakesThePolicy shows that Test gates with the connector's own
// policy file: a finding a live waiver excuses is logged and does not
// fail, and an expired waiver fails Test/policy.
func TestTestTakesThePolicy(t *testing.T) {
	dir := copyDir(t, dealnotifyDir)
	path := filepath.Join(dir, "cassettes", "crm-deal-4207.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stale := strings.Replace(string(data), `"stage":"won"`, `"stage":"closed_won"`, 1)
	if stale == string(data) {
		t.Fatal("the cassette no longer records stage won; update the test")
	}
	if err := os.WriteFile(path, []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	child := func() (string, bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPolicyChild$", "-test.v")
		cmd.Env = append(os.Environ(), policyChildDir+"="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err == nil
	}
	out, ok := child()
	if ok {
		t.Fatalf("Test passed a stale cassette with no policy:\n%s", out)
	}
	if !strings.Contains(out, "FAIL: TestPolicyChild/contract/cassette-lint") {
		t.Fatalf("the stale cassette did not fail contract/cassette-lint:\n%s", out)
	}

	policy := func(expires string) {
		t.Helper()
		p := "waivers:\n  - id: response-body-invalid\n    reason: the CRM renames the stage next month\n    expires: " + expires + "\n"
		if err := os.WriteFile(filepath.Join(dir, manifest.PolicyFile), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	policy("2999-12-31")
	out, ok = child()
	if !ok {
		t.Fatalf("Test failed findings the connector's policy waives:\n%s", out)
	}
	if !strings.Contains(out, "(waived: the CRM renames the stage next month (until 2999-12-31))") {
		t.Errorf("Test does not log the waived findings with their reason:\n%s", out)
	}

	policy("2020-01-31")
	out, ok = child()
	if ok || !strings.Contains(out, "FAIL: TestPolicyChild/policy") || !strings.Contains(out, "waiver-expired") {
		t.Errorf("Test passed with an expired waiver, or failed elsewhere than Test/policy:\n%s", out)
	}
}
