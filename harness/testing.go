package harness

import (
	"slices"
	"testing"
)

// Test runs the suites over the connector in dir as subtests, one per
// check: Test/<suite>/<scenario>/<check> (Test/<suite>/<check> for a
// check of the whole connector), so that `go test -run 'Test/replay/won'`
// runs one scenario's replay checks. Checks run in parallel, as
// `go test -parallel` allows; a scenario run is made once and shared by
// the checks that need it. The policy decides ([WithPolicy]; by default
// the connector's own policy file, else failing on errors): a finding of
// a level it fails on fails its check unless a live waiver excuses it,
// every other finding is logged, and an expired waiver fails Test/policy.
// A failed check also shows the end of the connector's log.
// With [Update] the replay suite rewrites golden files instead of
// comparing them. The default target is [Process].
func Test(t *testing.T, dir string, opts ...Option) {
	t.Helper()
	ctx := t.Context()
	s, err := NewSession(ctx, dir, t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	checks := s.Checks()
	policy, today := s.Policy(), s.x.o.today()
	if expired := policy.Expired(today); len(expired) > 0 {
		t.Run("policy", func(t *testing.T) {
			for _, f := range expired {
				t.Errorf("%s", f)
			}
		})
	}
	for _, suite := range AllSuites {
		if !slices.ContainsFunc(checks, func(pc PlannedCheck) bool { return pc.Suite == suite }) {
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
					fs, err := pc.Run(ctx)
					if err != nil {
						t.Fatal(err)
					}
					failed := false
					for _, f := range fs {
						reason, waived := policy.Waives(f, today)
						switch {
						case waived:
							t.Logf("%s (waived: %s)", f, reason)
						case policy.FailsOn(f.Level):
							failed = true
							t.Errorf("%s", f)
						default:
							t.Logf("%s", f)
						}
					}
					if failed && pc.Scenario != "" {
						t.Logf("the connector's log ends with:\n%s", s.Log(pc.Scenario, 30))
					}
				})
			}
		})
	}
}
