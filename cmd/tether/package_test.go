package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// releaseCopy copies the dealnotify example to a temporary directory as
// version, for a test to gate, package or break. The copy's run.command
// starts a binary built here: "go run" cannot build the copy outside
// this module.
func releaseCopy(t *testing.T, version string) string {
	t.Helper()
	work := t.TempDir()
	bin := filepath.Join(work, "dealnotify-bin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/dealnotify")
	build.Dir = exampleDir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build dealnotify: %v\n%s", err, out)
	}
	dir := filepath.Join(work, "dealnotify")
	if err := os.CopyFS(dir, os.DirFS(exampleDir)); err != nil {
		t.Fatal(err)
	}
	// The example's own report folder is not part of a release.
	if err := os.RemoveAll(filepath.Join(dir, "report")); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "connector.yaml")
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for old, new := range map[string]string{
		"command: [go, run, ./cmd/dealnotify,": "command: [" + bin + ",",
		"version: 1.0.0":                       "version: " + version,
	} {
		if !strings.Contains(s, old) {
			t.Fatalf("connector.yaml lacks %q; update releaseCopy", old)
		}
		s = strings.Replace(s, old, new, 1)
	}
	if err := os.WriteFile(manifest, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// gateCopy gates a copy of the example, version 1.0.0, and returns the
// copy and the report.json the gate wrote.
func gateCopy(t *testing.T) (dir, report string) {
	t.Helper()
	dir = releaseCopy(t, "1.0.0")
	out := filepath.Join(t.TempDir(), "report")
	if code, stdout, stderr := runCLI("gate", dir, "--out", out); code != exitOK {
		t.Fatalf("gate: exit %d\n%s\n%s", code, stdout, tailLines(stderr, 20))
	}
	return dir, filepath.Join(out, "report.json")
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// package --report packages what a gate passed, the same bytes each time,
// and refuses a report that fails the policy or is about other files,
// writing nothing.
func TestPackageFromGateReport(t *testing.T) {
	dir, report := gateCopy(t)
	dist := t.TempDir()
	first := filepath.Join(dist, "first.tar.gz")
	code, stdout, stderr := runCLI("package", dir, "--report", report, "--out", first)
	if code != exitOK {
		t.Fatalf("package: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if sum := sha256File(t, first); !strings.Contains(stdout, "sha256: "+sum) || !strings.Contains(stdout, first) {
		t.Errorf("stdout %q: want the bundle's path and its SHA-256 %s", stdout, sum)
	}

	second := filepath.Join(dist, "second.tar.gz")
	if code, stdout, _ := runCLI("package", "--report", report, dir, "--out", second); code != exitOK {
		t.Fatalf("package again: exit %d\n%s", code, stdout)
	}
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(second)
	if !bytes.Equal(a, b) {
		t.Errorf("packaging the same report twice gave different bytes (%d and %d)", len(a), len(b))
	}

	policy := filepath.Join(t.TempDir(), "gate.yaml")
	os.WriteFile(policy, []byte("waivers:\n  - {id: scope-unused, reason: kept for a later release, expires: 2020-01-01}\n"), 0o644)
	failed := filepath.Join(dist, "failed.tar.gz")
	code, stdout, _ = runCLI("package", dir, "--report", report, "--policy", policy, "--out", failed)
	if code != exitFindings || !strings.Contains(stdout, "waiver-expired") || !strings.Contains(stdout, "package: FAIL") {
		t.Errorf("a report failing the policy: exit %d, want %d\n%s", code, exitFindings, stdout)
	}
	if _, err := os.Stat(failed); !os.IsNotExist(err) {
		t.Errorf("a failing report wrote %s (%v)", failed, err)
	}

	golden, err := filepath.Glob(filepath.Join(dir, "golden", "*"))
	if err != nil || len(golden) == 0 {
		t.Fatalf("no golden file in the copy: %v", err)
	}
	if err := os.WriteFile(golden[0], append(mustRead(t, golden[0]), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dist, "stale.tar.gz")
	code, stdout, _ = runCLI("package", dir, "--report", report, "--out", stale)
	if code != exitFindings || !strings.Contains(stdout, filepath.Base(golden[0])) {
		t.Errorf("a golden file changed after the gate: exit %d, want %d and the file named\n%s", code, exitFindings, stdout)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a report about other files wrote %s (%v)", stale, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// --releases compares with the bundles of the compatibility window.
func TestReleasesWindow(t *testing.T) {
	old := releaseCopy(t, "1.0.0")
	releases := t.TempDir()
	if code, stdout, stderr := runCLI("package", old, "--out", filepath.Join(releases, "dealnotify-1.0.0.tar.gz")); code != exitOK {
		t.Fatalf("package 1.0.0: exit %d\n%s\n%s", code, stdout, tailLines(stderr, 20))
	}
	next := releaseCopy(t, "1.0.1")
	code, stdout, stderr := runCLI("test", next, "--suite", "compatibility", "--releases", releases)
	if code != exitOK || !strings.Contains(stdout, "compatibility") {
		t.Errorf("test 1.0.1 --releases: exit %d\n%s\n%s", code, stdout, tailLines(stderr, 20))
	}
	code, _, stderr = runCLI("test", old, "--suite", "compatibility", "--releases", releases)
	if code != exitCannot || !strings.Contains(stderr, "no earlier release") || !strings.Contains(stderr, "raise version") {
		t.Errorf("no release below 1.0.0: exit %d, %q", code, stderr)
	}
}

func TestPackageAndVerifyHelp(t *testing.T) {
	tests := []struct {
		args   []string
		want   []string
		reason string
	}{
		{[]string{"package", "--help"}, []string{"SHA256SUMS", "same bytes", "re-scan", "tether verify", "Exit codes"}, "what a bundle holds and the flow"},
		{[]string{"verify", "--help"}, []string{"marketplace", "bundle-checksum-mismatch", "Exit codes"}, "what verify checks"},
		{[]string{"gate", "--help"}, []string{"--releases DIR", "compatibility.window"}, "the window on gate"},
		{[]string{"test", "--help"}, []string{"--releases DIR", "compatibility.window"}, "the window on test"},
	}
	for _, tt := range tests {
		code, out, _ := runCLI(tt.args...)
		if code != exitOK {
			t.Errorf("tether %v: exit %d (%s)", tt.args, code, tt.reason)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("tether %v lacks %q (%s)", tt.args, w, tt.reason)
			}
		}
	}
}

// A connector's own policy.yaml gates it when no --policy is given: gate
// records it in the report, package applies it, and verify under another
// policy says the report passed under the one it was gated with.
func TestConnectorPolicyFile(t *testing.T) {
	dir := releaseCopy(t, "1.0.0")
	own := "fail-on: [error, warning]\nwaivers:\n  - {id: invalid-event-accepted, reason: the CRM signs what it sends, expires: 2999-12-31}\n"
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "report")
	code, stdout, stderr := runCLI("gate", dir, "--out", out)
	if code != exitOK || !strings.Contains(stdout, "policy: policy.yaml (sha256 ") || !strings.Contains(stdout, "1 findings waived") {
		t.Fatalf("gate with the connector's policy: exit %d\n%s\n%s", code, stdout, tailLines(stderr, 20))
	}
	var rep struct {
		Run struct {
			Policy struct {
				File   string   `json:"file"`
				Digest string   `json:"sha256"`
				FailOn []string `json:"fail-on"`
			} `json:"policy"`
		} `json:"run"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(out, "report.json")), &rep); err != nil {
		t.Fatal(err)
	}
	if p := rep.Run.Policy; p.File != "policy.yaml" || p.Digest != sha256File(t, filepath.Join(dir, "policy.yaml")) || len(p.FailOn) != 2 {
		t.Errorf("the report records the policy as %+v", p)
	}

	bundle := filepath.Join(t.TempDir(), "b.tar.gz")
	if code, stdout, _ := runCLI("package", dir, "--report", filepath.Join(out, "report.json"), "--out", bundle); code != exitOK {
		t.Fatalf("package without --policy did not take the connector's policy: exit %d\n%s", code, stdout)
	}
	strict := filepath.Join(t.TempDir(), "marketplace.yaml")
	os.WriteFile(strict, []byte("fail-on: [error, warning]\n"), 0o644)
	code, stdout, _ = runCLI("verify", bundle, "--policy", strict)
	if code != exitFindings || !strings.Contains(stdout, "the report passed under the policy it was gated with, policy.yaml (sha256") ||
		!strings.Contains(stdout, "which waived 1 findings") {
		t.Errorf("verify under a stricter policy: exit %d, want %d and why the report passed before\n%s", code, exitFindings, stdout)
	}
}

// An --out whose directory is missing is refused before any suite runs.
func TestPackageOutCheckedFirst(t *testing.T) {
	out := filepath.Join(t.TempDir(), "missing", "bundle.tar.gz")
	code, stdout, stderr := runCLI("package", exampleDir, "--out", out)
	if code != exitCannot || !strings.Contains(stderr, "its directory does not exist") {
		t.Fatalf("exit %d, want %d and the missing directory named\n%s\n%s", code, exitCannot, stdout, stderr)
	}
	if strings.Contains(stderr, "call(s)") {
		t.Errorf("the suites ran before the output was checked:\n%s", stderr)
	}
}
