package contracts

import (
	"cmp"
	"maps"
	"slices"
)

// Rule IDs of the findings this package reports about documents, payloads
// and traffic. They are stable: tests, reports and waivers refer to them.
// The IDs of the changes [Compare] reports are in the same catalogue; see
// [Rules].
const (
	RuleCircularReference   = "circular-reference"
	RuleExampleInvalid      = "example-invalid"
	RuleSwaggerRepaired     = "swagger-repaired"
	RulePathsClash          = "paths-clash"
	RuleOperationIDRepeated = "operation-id-repeated"
	RuleOperationNotFound   = "operation-not-found"
	RuleOperationAmbiguous  = "operation-ambiguous"
	RuleMethodNotAllowed    = "method-not-allowed"
	RulePathParamInvalid    = "request-path-parameter-invalid"
	RuleQueryParamInvalid   = "request-query-parameter-invalid"
	RuleHeaderParamInvalid  = "request-header-parameter-invalid"
	RuleCookieParamInvalid  = "request-cookie-parameter-invalid"
	RuleRequestBodyInvalid  = "request-body-invalid"
	RuleSecurityMissing     = "request-security-missing"
	RuleResponseStatus      = "response-status-undeclared"
	RuleResponseBodyInvalid = "response-body-invalid"
	RuleResponseHeader      = "response-header-invalid"
	RuleEventUnknown        = "event-unknown"
	RuleEventInvalid        = "event-payload-invalid"
	RuleOverlayDeparture    = "overlay-departure"
	RuleOverlayUnmatched    = "overlay-target-unmatched"
	// RuleEventPropertyUndeclared is an event field the schema does not
	// declare, where events are read tolerantly (see [StrictEvents]).
	RuleEventPropertyUndeclared = "event-property-undeclared"
	RulePayloadInvalid          = "payload-invalid"
)

// rules is the catalogue of the findings above: the level each reports at
// and the summary that starts every message with that ID.
var rules = table(
	Rule{RuleCircularReference, LevelWarning, "circular schema reference", "examples stop at the cycle; nothing to do unless a payload needs a deeper one"},
	Rule{RuleExampleInvalid, LevelWarning, "the contract's own example does not validate", "the example is skipped and one is synthesised instead; report it to the vendor"},
	Rule{RuleSwaggerRepaired, LevelWarning, "Swagger 2.0 construct outside the specification, repaired on conversion", ""},
	Rule{RulePathsClash, LevelWarning, "path templates that no request can tell apart", "a request is routed to the first; check the vendor's documentation for which is meant"},
	Rule{RuleOperationIDRepeated, LevelWarning, "operationId used by more than one operation", "refer to the other operation by METHOD /template"},
	Rule{RuleOperationNotFound, LevelError, "no operation matches the request", ""},
	Rule{RuleOperationAmbiguous, LevelError, "several operations match the request equally", ""},
	Rule{RuleMethodNotAllowed, LevelError, "the path exists but not for this method", ""},
	Rule{RulePathParamInvalid, LevelError, "path parameter does not match the contract", ""},
	Rule{RuleQueryParamInvalid, LevelError, "query parameter does not match the contract", ""},
	Rule{RuleHeaderParamInvalid, LevelError, "header does not match the contract", ""},
	Rule{RuleCookieParamInvalid, LevelError, "cookie does not match the contract", ""},
	Rule{RuleRequestBodyInvalid, LevelError, "request body does not match the contract", ""},
	Rule{RuleSecurityMissing, LevelError, "request lacks the credentials the operation requires", ""},
	Rule{RuleResponseStatus, LevelError, "response status is not declared for the operation", ""},
	Rule{RuleResponseBodyInvalid, LevelError, "response body does not match the contract", ""},
	Rule{RuleResponseHeader, LevelError, "response header does not match the contract", ""},
	Rule{RuleEventUnknown, LevelError, "the contract declares no such event", ""},
	Rule{RuleEventInvalid, LevelError, "event payload does not match the contract", ""},
	Rule{RuleEventPropertyUndeclared, LevelInfo, "the event has a field its schema does not declare", "senders add fields as their payloads evolve, and a tolerant reader ignores them; set events.strict: true in the manifest to hold events to the letter of their schemas"},
	Rule{RulePayloadInvalid, LevelError, "payload does not match the schema", ""},
	Rule{RuleOverlayDeparture, LevelInfo, "the vendor's contract refuses this, but an overlay says the vendor accepts it", "nothing to do while the vendor behaves as the overlay says; the journal keeps each departure"},
	Rule{RuleOverlayUnmatched, LevelWarning, "an overlay action matches nothing in the contract", "the contract changed under the overlay; update the action's target"},
)

// table indexes rules by ID; an ID given twice is a programming error.
func table(rs ...Rule) map[string]Rule {
	out := make(map[string]Rule, len(rs))
	for _, r := range rs {
		if _, dup := out[r.ID]; dup {
			panic("contracts: rule " + r.ID + " is in the catalogue twice")
		}
		out[r.ID] = r
	}
	return out
}

// Rules lists every rule of this package, sorted by ID: the findings about
// documents, payloads and traffic, and the changes [Compare] reports.
func Rules() []Rule {
	out := slices.Collect(maps.Values(rules))
	for _, r := range changeRules {
		out = append(out, r.Rule)
	}
	slices.SortFunc(out, func(a, b Rule) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// RuleFor returns the rule with the ID id, of either kind [Rules] lists.
func RuleFor(id string) (Rule, bool) {
	if r, ok := rules[id]; ok {
		return r, true
	}
	r, ok := changeRules[id]
	return r.Rule, ok
}

// newFinding builds a finding whose level and message summary come from the
// catalogue; detail, when given, follows the summary.
func newFinding(id, detail string) Finding {
	r, ok := rules[id]
	if !ok {
		panic("contracts: rule " + id + " is missing from the catalogue; add it to rules.go")
	}
	return r.New(detail)
}
