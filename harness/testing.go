package harness

import (
	"fmt"
	"path/filepath"
	"testing"
)

// Test runs every scenario of the connector in dir as a subtest named
// after its file, so `go test -run 'Test/happy'` runs one. Each error
// finding fails its subtest; a failed subtest also shows the end of the
// connector's log. With [Update] it rewrites golden files instead of
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
	work := t.TempDir()
	start, err := o.target.prepare(ctx, c, work)
	if err != nil {
		t.Fatal(err)
	}
	for i, sc := range c.Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			res, err := runScenario(ctx, c, sc, start, filepath.Join(work, fmt.Sprintf("s%d", i)), o)
			if err != nil {
				t.Fatal(err)
			}
			reportScenario(t, res)
		})
	}
}

func reportScenario(t *testing.T, res *ScenarioResult) {
	t.Helper()
	for _, f := range res.Findings {
		if f.Level == LevelError {
			t.Errorf("%s", f)
		} else {
			t.Logf("%s", f)
		}
	}
	if res.GoldenUpdated {
		t.Logf("rewrote %s", res.Scenario.Expect.Golden)
	}
	if res.Failed() {
		t.Logf("deliveries: %+v", res.Deliveries)
		t.Logf("the connector's log ends with:\n%s", tail(res.Logs, 30))
	}
}
