package drift

import "github.com/tetherkit/tether/contracts"

// The IDs of the findings a [Check] makes.
const (
	RuleLiveContractViolation = "live-contract-violation"
	RuleCassetteDrift         = "cassette-drift"
	RuleOperationGone         = "operation-gone"
)

var rules = []contracts.Rule{
	{ID: RuleLiveContractViolation, Level: contracts.LevelError,
		Summary: "the live vendor's answer breaks the vendor contract",
		Hint:    "update the contract to what the vendor now answers, or report the vendor's bug"},
	{ID: RuleCassetteDrift, Level: contracts.LevelError,
		Summary: "the live vendor answers otherwise than the cassette recorded",
		Hint:    "check the connector against the new answer, then re-record with tether drift --record"},
	{ID: RuleOperationGone, Level: contracts.LevelError,
		Summary: "the operation is gone or moved",
		Hint:    "move the connector to the operation that replaces it, then re-record its cassettes"},
}

// Rules lists the rules of the findings this package reports.
func Rules() []contracts.Rule { return append([]contracts.Rule(nil), rules...) }

func ruleFor(id string) (contracts.Rule, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return contracts.Rule{}, false
}
