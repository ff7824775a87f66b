package harness

import "github.com/tetherkit/tether/harness/coverage"

// coverageRun is what a scenario run shows coverage.Measure: its calls and
// the events it delivered. own is true for the connector's own scenarios,
// whose calls count as used as well as exercised.
func coverageRun(r *ScenarioResult, own bool) coverage.Run {
	run := coverage.Run{Own: own, Calls: r.Journal}
	for _, d := range r.Deliveries {
		run.Events = append(run.Events, d.Event)
	}
	return run
}
