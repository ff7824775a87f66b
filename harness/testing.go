package harness

import (
	"path/filepath"
	"slices"
	"testing"
)

// Test runs the suites over the connector in dir as subtests, one per
// check: Test/<suite>/<scenario>/<check> (Test/<suite>/<check> for a
// check of the whole connector), so that `go test -run 'Test/replay/won'`
// runs one scenario's replay checks. Checks run in parallel, as
// `go test -parallel` allows; a scenario run is made once and shared by
// the checks that need it. An error finding fails its check, a warning is
// logged; a failed check also shows the end of the connector's log.
// With [Update] the replay suite rewrites golden files instead of
// comparing them. The default target is [Process].
func Test(t *testing.T, dir string, opts ...Option) {
	t.Helper()
	o := configure(opts)
	c, err := Load(dir, o.update)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Scenarios) == 0 {
		t.Fatalf("%s has no scenarios; write one in %s", dir, filepath.Join(dir, ScenarioDir))
	}
	ctx := t.Context()
	x, err := newExecution(ctx, c, o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	checks := x.plan()
	for _, suite := range AllSuites {
		if !slices.Contains(o.suites, suite) {
			continue
		}
		t.Run(suite, func(t *testing.T) {
			for _, pc := range checks {
				if pc.Suite != suite {
					continue
				}
				name := pc.Name
				if pc.Scenario != "" {
					name = pc.Scenario + "/" + pc.Name
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					fs, err := pc.run(ctx)
					if err != nil {
						t.Fatal(err)
					}
					reportFindings(t, x, pc, fs)
				})
			}
		})
	}
}

func reportFindings(t *testing.T, x *execution, pc PlannedCheck, fs []Finding) {
	t.Helper()
	failed := false
	for _, f := range fs {
		if f.Level == LevelError {
			failed = true
			t.Errorf("%s", f)
		} else {
			t.Logf("%s", f)
		}
	}
	if !failed || pc.Scenario == "" {
		return
	}
	x.mu.Lock()
	l := x.results[pc.Scenario]
	x.mu.Unlock()
	if l != nil && l.res != nil {
		t.Logf("deliveries: %+v", l.res.Deliveries)
		t.Logf("the connector's log ends with:\n%s", tail(l.res.Logs, 30))
	}
}
