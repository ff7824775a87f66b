package harness

import (
	"fmt"
	"slices"
	"time"

	"github.com/tetherkit/tether/harness/coverage"
	"github.com/tetherkit/tether/harness/report"
)

// timelineOf is what happened in a scenario run, in the order it happened:
// each delivery attempt, each call (numbered per operation within its
// delivery, so that a retry shows as attempt 2), the Retry-After an answer
// asked for, and the dead letters. Times order the steps and are then
// dropped, so that a report stays the same run after run.
func timelineOf(r *ScenarioResult) []report.Step {
	type timed struct {
		at   time.Time
		rank int // at the same time: a delivery before its calls
		step report.Step
		key  string // a call's delivery and operation, to number its attempts
	}
	var all []timed
	for _, d := range r.Deliveries {
		label := d.Event
		if d.Copy > 1 {
			label = fmt.Sprintf("%s (copy %d)", d.Event, d.Copy)
		}
		result := d.Outcome
		if d.Error != "" {
			result = "no answer"
		}
		all = append(all, timed{d.At, 0, report.Step{Kind: report.StepDelivery, Label: label, Attempt: max(d.Attempt, 1), Status: d.Status, Result: result}, ""})
	}
	for _, e := range r.Journal {
		what := e.Vendor + " " + e.Operation
		if e.Operation == "" {
			what = e.Vendor + " " + e.Method + " " + e.Path
		}
		all = append(all, timed{e.Time, 1, report.Step{Kind: report.StepCall, Label: what, Status: e.Status, Result: coverage.FaultKind(e.Fault)}, e.CorrelationID + "\x00" + what})
		if v := e.ResponseHeader.Get("Retry-After"); v != "" && e.Status >= 400 {
			all = append(all, timed{e.Time.Add(e.Took), 2, report.Step{Kind: report.StepWait, Label: what, Result: v}, ""})
		}
	}
	slices.SortStableFunc(all, func(a, b timed) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.rank - b.rank
	})
	// Attempts are numbered in the order the calls were made: the
	// journal holds a call when it ends, and a call cut off by a fault
	// can end after its retry.
	attempts := map[string]int{}
	out := make([]report.Step, 0, len(all)+len(r.DeadLetters))
	for _, t := range all {
		if t.key != "" {
			attempts[t.key]++
			t.step.Attempt = attempts[t.key]
		}
		out = append(out, t.step)
	}
	for _, l := range r.DeadLetters {
		out = append(out, report.Step{Kind: report.StepDeadLetter, Label: l.Event.ID, Attempt: l.Attempts, Result: l.Class})
	}
	return out
}
