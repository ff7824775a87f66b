// Package releasetest makes release bundles for tests in a few
// milliseconds: a copy of an example connector at a chosen version,
// packaged from a passing report made without running the suites, as
// packaging reads no more of a report than its status, inputs and checks.
package releasetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/report"
)

// Bundle packages a copy of the connector in example, with its version
// set to version, to out (a .tar.gz), and returns out. The example's
// connector.yaml must say "version: 1.0.0".
func Bundle(t testing.TB, example, version, out string) string {
	t.Helper()
	_, c, rep := Connector(t, example, version)
	if err := release.PackageRelease(c, rep, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Connector copies the connector in example to a temporary folder, with
// its version set to version, and returns its folder, the connector
// loaded, and a passing report about its files, as a gate would write it.
func Connector(t testing.TB, example, version string) (string, *manifest.Connector, *report.Report) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "connector")
	if err := os.CopyFS(dir, os.DirFS(example)); err != nil {
		t.Fatal(err)
	}
	// An example's own report folder is not part of a release.
	if err := os.RemoveAll(filepath.Join(dir, "report")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, manifest.File)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "version: 1.0.0") {
		t.Fatalf("%s lacks \"version: 1.0.0\"; update releasetest", path)
	}
	data = []byte(strings.Replace(string(data), "version: 1.0.0", "version: "+version, 1))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep := report.Gate(&report.Report{
		Version:   report.Version,
		Connector: report.ConnectorInfo{Name: c.Manifest.Name, Version: c.Manifest.Version, Summary: c.Manifest.Summary, Dir: "."},
		Run:       report.RunInfo{Seed: 1, Target: "in-process", Sandbox: "inproc", Suites: []string{report.SuiteContract}},
		Inputs:    c.Inputs,
		Checks:    []report.Check{{Suite: report.SuiteContract, Name: "events"}},
	}, nil, time.Now())
	return dir, c, rep
}
