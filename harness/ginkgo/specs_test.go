//go:build unix

package ginkgo_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// These tests run the Ginkgo suite of this package in a subprocess, as a
// person would, and read Ginkgo's JSON report: a Ginkgo suite runs once
// per process, so a test cannot run another one beside TestGinkgo.
//
// The Ginkgo CLI runs every test of a package, not only TestGinkgo, so a
// subprocess would run these tests again, and they would start the CLI
// again. The subprocesses carry childMarker in their environment, and
// these tests skip where it is set.

// childMarker marks the environment of the suites these tests start.
const childMarker = "TETHER_GINKGO_CHILD=1"

// suiteRun is what a subprocess run of the suite showed.
type suiteRun struct {
	out   string
	err   error // the command's, non-nil when the suite failed
	specs []types.SpecReport
}

// runSuite runs the command that command makes of a report path (go test
// or the ginkgo CLI, with the flag that writes a JSON report there) in
// this package's directory, and returns what it printed and the report's
// It specs.
func runSuite(t *testing.T, command func(report string) []string) suiteRun {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the suite in a subprocess")
	}
	if slices.Contains(os.Environ(), childMarker) {
		t.Skip("runs in a suite that a test started")
	}
	report := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	argv := command(report)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), childMarker)
	// go run and the Ginkgo CLI start processes of their own: a process
	// group lets a timeout end them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	run := suiteRun{out: string(out), err: err}
	data, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("%s wrote no report (%v); it printed:\n%s", strings.Join(argv, " "), rerr, out)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		t.Fatalf("read the JSON report: %v", err)
	}
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType == types.NodeTypeIt {
				run.specs = append(run.specs, s)
			}
		}
	}
	return run
}

// goTest runs the suite with go test, with tags (comma-separated, or
// empty) selecting the connector it declares, and Ginkgo's flags.
func goTest(t *testing.T, tags string, ginkgoFlags ...string) suiteRun {
	t.Helper()
	return runSuite(t, func(report string) []string {
		cmd := []string{"go", "test", "-count=1", "-tags=" + tags, "-run=^TestGinkgo$", ".",
			"-args", "-ginkgo.no-color", "-ginkgo.json-report=" + report}
		return append(cmd, ginkgoFlags...)
	})
}

// spec finds the spec whose full text is text.
func (r suiteRun) spec(text string) (types.SpecReport, bool) {
	i := slices.IndexFunc(r.specs, func(s types.SpecReport) bool { return s.FullText() == text })
	if i < 0 {
		return types.SpecReport{}, false
	}
	return r.specs[i], true
}

// TestSpecsListed shows that the specs exist when Ginkgo builds its tree:
// a dry run, which runs no spec and no BeforeSuite, lists one per check,
// named and labelled after its suite.
func TestSpecsListed(t *testing.T) {
	run := goTest(t, "", "-ginkgo.dry-run")
	if run.err != nil {
		t.Fatalf("dry run failed: %v\n%s", run.err, run.out)
	}
	for _, want := range []struct{ text, label, reason string }{
		{"dealnotify replay won/golden", "replay", "a check of one scenario is named <scenario>/<check>"},
		{"dealnotify replay won/outcome", "replay", "each replay check is a spec of its own"},
		{"dealnotify contract cassette-lint", "contract", "a check of the whole connector is named <check>"},
		{"dealnotify negative forged-signature", "negative", "derived negative cases are planned before anything runs"},
	} {
		s, ok := run.spec(want.text)
		if !ok {
			t.Errorf("no spec %q (%s)", want.text, want.reason)
			continue
		}
		if !slices.Equal(s.Labels(), []string{want.label}) {
			t.Errorf("spec %q has labels %q, want [%s]", want.text, s.Labels(), want.label)
		}
	}
	for _, s := range run.specs {
		if s.State != types.SpecStatePassed || s.RunTime > time.Second {
			// A dry run reports each spec as passed without running its
			// body; a spec that took time ran something.
			t.Errorf("spec %q: %s in %v, want passed without running", s.FullText(), s.State, s.RunTime)
		}
	}
	if len(run.specs) < 20 {
		t.Errorf("dry run listed %d specs, want one per check (at least 20)", len(run.specs))
	}
}

// TestLabelFilter runs one suite by its label.
func TestLabelFilter(t *testing.T) {
	run := goTest(t, "", "-ginkgo.dry-run", "-ginkgo.label-filter=negative")
	if run.err != nil {
		t.Fatalf("dry run failed: %v\n%s", run.err, run.out)
	}
	ran := 0
	for _, s := range run.specs {
		if s.State == types.SpecStateSkipped {
			continue
		}
		ran++
		if !slices.Contains(s.Labels(), "negative") {
			t.Errorf("spec %q ran under --label-filter=negative", s.FullText())
		}
	}
	if ran == 0 {
		t.Error("--label-filter=negative selected no spec")
	}
}

// TestParallelProcesses runs the suite with the Ginkgo CLI across two
// processes: each builds the same tree and prepares its own session, and
// Ginkgo spreads the specs between them.
func TestParallelProcesses(t *testing.T) {
	run := runSuite(t, func(report string) []string {
		// The CLI writes reports under --output-dir, not beside the
		// package.
		return []string{"go", "run", "github.com/onsi/ginkgo/v2/ginkgo", "--procs=2", "--no-color",
			"--output-dir=" + filepath.Dir(report), "--json-report=" + filepath.Base(report), "."}
	})
	if run.err != nil {
		t.Fatalf("ginkgo --procs=2 failed: %v\n%s", run.err, run.out)
	}
	procs := map[int]int{}
	for _, s := range run.specs {
		procs[s.ParallelProcess]++
	}
	if procs[1] == 0 || procs[2] == 0 {
		t.Errorf("specs ran on processes %v, want some on each of 1 and 2", procs)
	}
}

// TestBrokenSetupFails runs the suite over dealnotify posting to the
// wrong channel: the golden checks fail with their finding, and the
// suite fails.
func TestBrokenSetupFails(t *testing.T) {
	run := goTest(t, "tetherginkgo_broken")
	var exit *exec.ExitError
	if !errors.As(run.err, &exit) {
		t.Fatalf("the suite over a broken setup passed (%v), want it to fail:\n%s", run.err, run.out)
	}
	if !strings.Contains(run.out, "golden-mismatch") {
		t.Errorf("the output does not name golden-mismatch:\n%s", run.out)
	}
	s, ok := run.spec("dealnotify replay won/golden")
	switch {
	case !ok:
		t.Errorf("no spec dealnotify replay won/golden")
	case s.State != types.SpecStateFailed:
		t.Errorf("dealnotify replay won/golden %s, want failed", s.State)
	case !strings.Contains(s.Failure.Message, "golden-mismatch"):
		t.Errorf("won/golden failed with %q, want it to name golden-mismatch", s.Failure.Message)
	}
	if s, ok := run.spec("dealnotify replay filtered-stage/golden"); ok && s.State != types.SpecStatePassed {
		t.Errorf("dealnotify replay filtered-stage/golden %s, want passed: it posts nothing, so the channel does not show", s.State)
	}
}

// TestMissingConnectorFails runs the suite over a directory with no
// connector: the suite fails with one spec that says why, rather than
// panicking or passing with no specs.
func TestMissingConnectorFails(t *testing.T) {
	run := goTest(t, "tetherginkgo_missing")
	if run.err == nil {
		t.Fatalf("the suite over a missing connector passed:\n%s", run.out)
	}
	if len(run.specs) != 1 {
		t.Fatalf("got %d specs, want the one that reports the error:\n%s", len(run.specs), run.out)
	}
	s := run.specs[0]
	if s.FullText() != "nowhere prepares the connector" || s.State != types.SpecStateFailed {
		t.Errorf("spec %q %s, want %q failed", s.FullText(), s.State, "nowhere prepares the connector")
	}
	if !strings.Contains(s.Failure.Message, "no-such-connector") {
		t.Errorf("failure %q does not name the directory", s.Failure.Message)
	}
}
