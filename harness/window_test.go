package harness

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tetherkit/tether/connectors/dealnotify"
)

// release copies the example as the given version, edits it, gates its
// contract suite and packages it into releases.
func release(t *testing.T, version, releases string, change func(dir string)) string {
	t.Helper()
	dir := copyDir(t, dealnotifyDir)
	edit(t, dir, "connector.yaml", "version: 1.0.0", "version: "+version)
	if change != nil {
		change(dir)
	}
	c, err := Load(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Execute(context.Background(), c, Drive(InProcess(dealnotify.Setup)), Only(SuiteContract))
	if err != nil {
		t.Fatal(err)
	}
	if releases == "" {
		return dir
	}
	out := filepath.Join(releases, BundleName(c.Manifest))
	if err := PackageRelease(c, rep, out); err != nil {
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
	release(t, "1.0.0", releases, func(dir string) {
		edit(t, dir, "config.schema.json", `"additionalProperties": false,`, `"additionalProperties": true,`)
	})
	release(t, "2.0.0", releases, nil)
	cur := release(t, "2.1.0", "", nil)

	c, err := Load(cur, false)
	if err != nil {
		t.Fatal(err)
	}
	picked, err := ReleasesIn(releases, c.Manifest)
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
	want := []ReleaseRow{
		{Release: "dealnotify-2.0.0", Version: "2.0.0", Contract: StatusPass, Config: StatusPass, Manifest: StatusPass, Replay: StatusPass, Semver: StatusPass},
		{Release: "dealnotify-1.0.0", Version: "1.0.0", Contract: StatusPass, Config: StatusFail, Manifest: StatusPass, Replay: StatusPass, Semver: StatusPass},
	}
	if len(rep.Releases) != len(want) {
		t.Fatalf("matrix %+v", rep.Releases)
	}
	for i := range want {
		if rep.Releases[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, rep.Releases[i], want[i])
		}
	}
	if rep.Summary.Status != StatusFail {
		t.Errorf("the gate passed with an incompatible release in the window")
	}
	found := false
	for _, f := range rep.Findings {
		if f.Scenario == "dealnotify-1.0.0" && f.ID == RuleConfigBoundTightened {
			found = true
		}
	}
	if !found {
		t.Errorf("no %s for 1.0.0: %+v", RuleConfigBoundTightened, rep.Findings)
	}
}
