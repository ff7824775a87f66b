package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tetherkit/tether/contracts"
)

var suiteRank = map[string]int{SuiteContract: 0, SuiteNegative: 1, SuiteReplay: 2, SuiteCompatibility: 3}

// Gate applies the policy p to the report r as of the day today, and
// returns the gated report; r itself is not modified. It puts the findings
// and checks in their fixed order and drops repeated findings, reports each
// expired waiver as an error finding, marks the findings the live waivers
// excuse, ties each finding to its check, and fills every summary, the
// status of each check, suite and scenario, and the compatibility matrix.
// The status is fail when a finding of a level in p's fail-on list is not
// waived. A nil p is [DefaultPolicy].
//
// The same report, policy and day always give the same result, so a
// marketplace can gate a stored report again and get what the author got.
func Gate(r *Report, p *Policy, today time.Time) *Report {
	if p == nil {
		p = DefaultPolicy()
	}
	g := *r
	g.Findings = slices.Clone(r.Findings)
	g.Checks = slices.Clone(r.Checks)
	g.Scenarios = slices.Clone(r.Scenarios)
	g.Releases = slices.Clone(r.Releases)
	g.Cases = slices.Clone(r.Cases)
	if g.Findings == nil {
		g.Findings = []Finding{}
	}
	g.Run.Policy = PolicyRef{File: p.File, Digest: p.Digest, FailOn: slices.Clone(p.FailOn)}
	g.Findings = append(g.Findings, p.Expired(today)...)
	// A report gated before carries the coverage findings of that gate's
	// policy; this gate's policy decides afresh.
	g.Findings = slices.DeleteFunc(g.Findings, func(f Finding) bool { return f.ID == RuleCoverageBelowMinimum })
	g.Findings = append(g.Findings, p.CoverageFindings(g.Coverage)...)
	for i := range g.Findings {
		g.Findings[i].Waived = ""
	}
	g.finish(func(f Finding) (string, bool) { return p.Waives(f, today) })
	failing := false
	for _, f := range g.Findings {
		if f.Waived == "" && p.FailsOn(f.Level) {
			failing = true
		}
	}
	g.Summary.Status = StatusPass
	if failing {
		g.Summary.Status = StatusFail
	}
	return &g
}

// Expired are the error findings for p's waivers that expired before
// today: a waiver past its date waives nothing and fails the gate.
func (p *Policy) Expired(today time.Time) []Finding {
	var out []Finding
	for _, w := range p.Waivers {
		if day(today).After(w.expires) {
			f := newFinding(RuleWaiverExpired, contracts.Position{File: p.File, Line: w.line},
				fmt.Sprintf("the waiver of %s expired on %s (%s)", w.ID, w.Expires, w.Reason))
			f.Check = "policy"
			out = append(out, f)
		}
	}
	return out
}

// CheckCoverage is the check the gate files coverage findings under.
const CheckCoverage = "coverage"

// CoverageFindings are the error findings for each minimum of p's
// coverage that c falls below, one per vendor (or for the events) and
// minimum, each naming what the suites missed. A nil c, as in a report
// made before coverage was measured, meets no minimum that is set.
func (p *Policy) CoverageFindings(c *Coverage) []Finding {
	min := p.Coverage
	if min.UsedOperations == nil && min.DeclaredStatuses == nil && min.DeliveredEvents == nil {
		return nil
	}
	pos := contracts.Position{File: p.File, Line: min.line}
	var out []Finding
	add := func(what string, r Ratio, want float64, missed []string) {
		if r.Percent >= want {
			return
		}
		msg := fmt.Sprintf("%s: %s, below the policy's minimum of %s%%", what, r, percent(want))
		if len(missed) > 0 {
			msg += "; missed: " + strings.Join(missed, ", ")
		}
		f := newFinding(RuleCoverageBelowMinimum, pos, msg)
		f.Check = CheckCoverage
		out = append(out, f)
	}
	if c == nil {
		f := newFinding(RuleCoverageBelowMinimum, pos, "the policy sets coverage minimums, and the report holds no coverage")
		f.Check = CheckCoverage
		return []Finding{f}
	}
	for _, v := range c.Vendors {
		if m := min.UsedOperations; m != nil {
			add(v.Vendor+": used operations exercised", v.UsedOperations, *m, v.Unexercised)
		}
		if m := min.DeclaredStatuses; m != nil {
			add(v.Vendor+": declared statuses answered", v.DeclaredStatuses, *m, v.MissedStatuses())
		}
	}
	if m := min.DeliveredEvents; m != nil && c.Events != nil {
		add("events: declared event types delivered", c.Events.Ratio, *m, c.Events.Missed)
	}
	return out
}

// Waives says whether a live waiver of p excuses f on the day today, and
// if so with what reason.
func (p *Policy) Waives(f Finding, today time.Time) (reason string, ok bool) {
	for _, w := range p.Waivers {
		if !day(today).After(w.expires) && w.matches(f) {
			return w.Reason + " (until " + w.Expires + ")", true
		}
	}
	return "", false
}

// FailsOn says whether an unwaived finding of level l fails the gate.
func (p *Policy) FailsOn(l contracts.Level) bool { return slices.Contains(p.FailOn, l.String()) }

// day is t's date at midnight UTC, the unit waivers expire in.
func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// finish sorts the findings and checks into their fixed order, ties each
// finding to its check, applies the waivers and fills the summaries.
func (r *Report) finish(waive func(f Finding) (string, bool)) {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if suiteRank[a.Suite] != suiteRank[b.Suite] {
			return suiteRank[a.Suite] < suiteRank[b.Suite]
		}
		if a.Scenario != b.Scenario {
			return a.Scenario < b.Scenario
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		if a.Level != b.Level {
			return a.Level > b.Level
		}
		return a.ID+a.Position.String()+a.Message < b.ID+b.Position.String()+b.Message
	})
	r.Findings = slices.CompactFunc(r.Findings, func(a, b Finding) bool { return a == b })
	sort.SliceStable(r.Checks, func(i, j int) bool {
		a, b := r.Checks[i], r.Checks[j]
		if suiteRank[a.Suite] != suiteRank[b.Suite] {
			return suiteRank[a.Suite] < suiteRank[b.Suite]
		}
		if a.Scenario != b.Scenario {
			return a.Scenario < b.Scenario
		}
		return a.Name < b.Name
	})
	index := map[[3]string]int{}
	for i := range r.Checks {
		c := &r.Checks[i]
		c.Findings, c.Status = nil, StatusPass
		index[[3]string{c.Suite, c.Scenario, c.Name}] = i
	}
	r.Summary = Summary{}
	for i := range r.Findings {
		f := &r.Findings[i]
		if reason, ok := waive(*f); ok {
			f.Waived = reason
		}
		k, ok := index[[3]string{f.Suite, f.Scenario, f.Check}]
		if !ok {
			r.Checks = append(r.Checks, Check{Suite: f.Suite, Scenario: f.Scenario, Name: f.Check, Status: StatusPass})
			k = len(r.Checks) - 1
			index[[3]string{f.Suite, f.Scenario, f.Check}] = k
		}
		c := &r.Checks[k]
		c.Findings = append(c.Findings, i)
		switch {
		case f.Waived != "":
			r.Summary.Waived++
		case f.Level == contracts.LevelError:
			r.Summary.Errors++
			c.Status = StatusFail
		case f.Level == contracts.LevelWarning:
			r.Summary.Warnings++
		default:
			r.Summary.Infos++
		}
	}
	r.Suites = nil
	for _, s := range r.Run.Suites {
		sr := SuiteReport{Name: s, Status: StatusPass}
		for _, c := range r.Checks {
			if c.Suite != s {
				continue
			}
			sr.Checks++
			if c.Status == StatusFail {
				sr.Failed++
				sr.Status = StatusFail
			}
		}
		for _, f := range r.Findings {
			if f.Suite == s && f.Waived == "" {
				switch f.Level {
				case contracts.LevelError:
					sr.Errors++
				case contracts.LevelWarning:
					sr.Warnings++
				}
			}
		}
		r.Suites = append(r.Suites, sr)
	}
	r.Summary.Checks = len(r.Checks)
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			r.Summary.Failed++
		}
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		s.Status = StatusPass
		for _, c := range r.Checks {
			if c.Scenario == s.Name && c.Status == StatusFail {
				s.Status = StatusFail
			}
		}
	}
	for i := range r.Releases {
		r.Releases[i].fill(r.Checks)
	}
	for i := range r.Cases {
		cs := &r.Cases[i]
		cs.Status = StatusPass
		for _, c := range r.Checks {
			if c.Suite == cs.Suite && c.Scenario == "" && c.Name == cs.Name && c.Status == StatusFail {
				cs.Status = StatusFail
			}
		}
	}
}

// SamePolicy says whether r was gated with p: the same file bytes, or
// both the default policy.
func (r *Report) SamePolicy(p *Policy) bool {
	if p == nil {
		p = DefaultPolicy()
	}
	return r.Run.Policy.Digest == p.Digest && slices.Equal(r.Run.Policy.FailOn, p.FailOn)
}

// PolicyNote explains a gate of r under p that fails where the gate r
// records passed, because p is not the policy r was gated with; it is
// empty otherwise.
func PolicyNote(r *Report, p *Policy) string {
	if r.Summary.Status != StatusPass || r.SamePolicy(p) || r.Run.Policy.FailOn == nil {
		return ""
	}
	was := "the default policy"
	if r.Run.Policy.File != "" {
		was = fmt.Sprintf("%s (sha256 %.12s)", r.Run.Policy.File, r.Run.Policy.Digest)
	}
	now := "the default policy"
	if p != nil && p.File != "" {
		now = fmt.Sprintf("%s (sha256 %.12s)", p.File, p.Digest)
	}
	waived := ""
	if r.Summary.Waived > 0 {
		waived = fmt.Sprintf(", which waived %d findings", r.Summary.Waived)
	}
	return fmt.Sprintf("the report passed under the policy it was gated with, %s%s; this gate applies %s: give --policy to apply the same one", was, waived, now)
}
