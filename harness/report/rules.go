package report

import "github.com/tetherkit/tether/contracts"

// Rules of the findings the gate itself reports.
const (
	RuleWaiverExpired        = "waiver-expired"
	RuleCoverageBelowMinimum = "coverage-below-minimum"
)

// Rules lists the rules of the findings the gate reports.
func Rules() []contracts.Rule {
	return []contracts.Rule{rules[RuleWaiverExpired], rules[RuleCoverageBelowMinimum]}
}

var rules = map[string]contracts.Rule{
	RuleWaiverExpired: {ID: RuleWaiverExpired, Level: contracts.LevelError, Summary: "a waiver of the policy is past its expiry date",
		Hint: "fix what the finding reports, or renew the waiver with a new date and a reason that still holds"},
	RuleCoverageBelowMinimum: {ID: RuleCoverageBelowMinimum, Level: contracts.LevelError, Summary: "the suites exercised less of a contract than the policy's coverage minimum",
		Hint: "add scenarios (or scenario faults) that call and fault what was missed, or lower the minimum in the policy"},
}

// newFinding is a finding of one of the gate's rules at pos, with msg as its
// message.
func newFinding(id string, pos contracts.Position, msg string) Finding {
	r := rules[id]
	return Finding{Finding: contracts.Finding{ID: id, Level: r.Level, Position: pos, Message: msg, Hint: r.Hint}}
}
