package harness

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tetherkit/tether/connectors/dealnotify"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/report"
)

// packaged copies the example as the given version, edits it, gates its
// contract suite and packages it into releases.
func packaged(t *testing.T, version, releases string, change func(dir string)) string {
	t.Helper()
	dir := copyDir(t, dealnotifyDir)
	edit(t, dir, "connector.yaml", "version: 1.0.0", "version: "+version)
	if change != nil {
		change(dir)
	}
	c, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Execute(context.Background(), c, Drive(InProcess(dealnotify.Setup)), Only(report.SuiteContract))
	if err != nil {
		t.Fatal(err)
	}
	if releases == "" {
		return dir
	}
	out := filepath.Join(releases, release.BundleName(c.Manifest))
	if err := release.PackageRelease(c, rep, out); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCompatibilityWindow: three releases of dealnotify. 1.0.0 accepted
// configuration fields it did not know; 2.0.0 stopped doing so (a breaking
// change, hence the major version); 2.1.0 is the one being gated, with a
// window of two. It is compatible with 2.0.0 but not with 1.0.0, whose
// configurations it may refuse: the matrix shows exactly that, and the
// gate fails.
func TestCompatibilityWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("packages two releases and gates a third; run without -short")
	}
	releases := t.TempDir()
	packaged(t, "1.0.0", releases, func(dir string) {
		edit(t, dir, "config.schema.json", `"additionalProperties": false,`, `"additionalProperties": true,`)
	})
	packaged(t, "2.0.0", releases, nil)
	cur := packaged(t, "2.1.0", "", nil)

	c, err := manifest.Load(cur)
	if err != nil {
		t.Fatal(err)
	}
	picked, err := release.ReleasesIn(releases, c.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(picked) != 2 || filepath.Base(picked[0]) != "dealnotify-2.0.0.tar.gz" || filepath.Base(picked[1]) != "dealnotify-1.0.0.tar.gz" {
		t.Fatalf("window picked %v", picked)
	}
	opts := []Option{Drive(InProcess(dealnotify.Setup)), Only()}
	for _, p := range picked {
		opts = append(opts, Baseline(p))
	}
	rep, err := Execute(context.Background(), c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	want := []report.ReleaseRow{
		{Release: "dealnotify-2.0.0", Version: "2.0.0", Contract: report.StatusPass, Config: report.StatusPass, Manifest: report.StatusPass, Replay: report.StatusPass, Semver: report.StatusPass},
		{Release: "dealnotify-1.0.0", Version: "1.0.0", Contract: report.StatusPass, Config: report.StatusFail, Manifest: report.StatusPass, Replay: report.StatusPass, Semver: report.StatusPass},
	}
	if len(rep.Releases) != len(want) {
		t.Fatalf("matrix %+v", rep.Releases)
	}
	for i := range want {
		if rep.Releases[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, rep.Releases[i], want[i])
		}
	}
	if rep.Summary.Status != report.StatusFail {
		t.Errorf("the gate passed with an incompatible release in the window")
	}
	found := false
	checkRegistered(t, rep.Findings)
	for _, f := range rep.Findings {
		if f.Scenario == "dealnotify-1.0.0" && f.ID == compat.RuleConfigBoundTightened {
			found = true
		}
	}
	if !found {
		t.Errorf("no %s for 1.0.0: %+v", compat.RuleConfigBoundTightened, rep.Findings)
	}
}
