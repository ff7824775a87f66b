package sandbox

import (
	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox/state"
)

// Rules of the findings the sandbox journals beside the contract's own.
const (
	RuleVendorUnknown      = "vendor-unknown" // the first path segment names no vendor
	RuleBodyTooLarge       = "request-body-too-large"
	RulePreferUnknown      = "prefer-status-undeclared" // Prefer: code=N names an undeclared status
	RuleCassetteInformal   = "cassette-status-informational"
	RuleCassetteUnreadable = "cassette-error"
	RuleBodyBudget         = "request-body-budget-spent" // the sandbox held as many bodies as it may
	RuleBodyTimeout        = "request-body-timeout"      // the body arrived too slowly
	RuleFindingsCut        = "findings-cut"              // a call had more findings than the journal keeps
	// RuleNotFoundUndeclared: state answered not-found for an operation
	// whose contract declares no 404.
	RuleNotFoundUndeclared  = "not-found-undeclared"
	RuleStateMergeInvalid   = state.RuleStateMergeInvalid
	RuleStateEvicted        = state.RuleStateEvicted
	RuleStateIDUnfit        = state.RuleStateIDUnfit
	RuleIdempotentReplay    = state.RuleIdempotentReplay
	RuleIdempotencyConflict = state.RuleIdempotencyConflict
	RuleIdempotencyKeyLong  = state.RuleIdempotencyKeyLong
	RuleCursorUnknown       = state.RuleCursorUnknown
)

// Rules lists the rules of the findings the sandbox journals itself; the
// contract's own are [contracts.Rules].
func Rules() []contracts.Rule {
	return []contracts.Rule{
		{ID: RuleVendorUnknown, Level: contracts.LevelError, Summary: "the first path segment names no vendor of the sandbox",
			Hint: "call the vendor's base URL as the sandbox printed it: http://HOST:PORT/<vendor><base path>"},
		{ID: RuleBodyTooLarge, Level: contracts.LevelError, Summary: "the request body is larger than the sandbox reads",
			Hint: "send a smaller body; a vendor would refuse it too"},
		{ID: RulePreferUnknown, Level: contracts.LevelError, Summary: "Prefer: code=N names a status the operation does not declare",
			Hint: "ask only for statuses the contract declares"},
		{ID: RuleCassetteInformal, Level: contracts.LevelError, Summary: "a recorded answer has an informational (1xx) status, which cannot be replayed",
			Hint: "record the exchange again, or remove the interaction"},
		{ID: RuleCassetteUnreadable, Level: contracts.LevelError, Summary: "a recorded answer could not be replayed",
			Hint: "check the cassette with tether cassette lint"},
		{ID: RuleBodyBudget, Level: contracts.LevelWarning, Summary: "the sandbox already held as many request bodies as its budget allows; the call was answered 503 with Retry-After",
			Hint: "send fewer large bodies at once, or start the sandbox with a larger body budget"},
		{ID: RuleBodyTimeout, Level: contracts.LevelError, Summary: "the request body did not arrive within the sandbox's body timeout; the call was answered 408",
			Hint: "send the whole body promptly once its headers are sent"},
		{ID: RuleNotFoundUndeclared, Level: contracts.LevelWarning, Summary: "the item is not in the sandbox's state, and the contract declares no 404 answer for the operation; a problem+json 404 was sent",
			Hint: "declare the vendor's not-found answer in the contract (or an overlay), so connectors are tested against its real shape"},
		{ID: RuleStateMergeInvalid, Level: contracts.LevelInfo, Summary: "a request field has another shape in the answer (an id sent, an object answered); the stored object keeps the answer's shape",
			Hint: "nothing to do unless the connector reads that field back: then the contract, or an overlay, should say what the vendor answers"},
		{ID: RuleStateIDUnfit, Level: contracts.LevelInfo, Summary: "the path names an identifier the answer's schema does not admit; the object was answered as synthesised and not kept",
			Hint: "use identifiers of the vendor's shape (tether sandbox model shows it), or declare the path parameter's pattern in the contract"},
		{ID: RuleStateEvicted, Level: contracts.LevelWarning, Summary: "the tenant's state reached its cap, and its oldest objects were forgotten",
			Hint: "reset state between tests, or start the sandbox with a larger state cap"},
		{ID: RuleIdempotentReplay, Level: contracts.LevelInfo, Summary: "an idempotency key came again with the same request; the vendor's first answer was sent again",
			Hint: "nothing to do: this is how a safe retry is answered"},
		{ID: RuleIdempotencyConflict, Level: contracts.LevelError, Summary: "an idempotency key came again with a different request; the vendor refuses it",
			Hint: "use a new idempotency key for each distinct request, and the same key only to retry the same one"},
		{ID: RuleIdempotencyKeyLong, Level: contracts.LevelError, Summary: "an idempotency key is longer than the vendor takes; the request was refused with the operation's error answer",
			Hint: "use keys of at most 255 bytes, such as a UUID"},
		{ID: RuleCursorUnknown, Level: contracts.LevelWarning, Summary: "a list was asked for the page after an item it does not hold (deleted, evicted, or another list's), or with a page token it did not give; the vendor's refusal was answered, else an empty last page",
			Hint: "page with the cursor the previous page gave; an item deleted meanwhile cannot be paged from"},
		{ID: RuleFindingsCut, Level: contracts.LevelInfo, Summary: "the call had more findings than the journal keeps of one call",
			Hint: "fix the first findings; the rest often repeat them"},
	}
}

// finding is a finding of one of the sandbox's own rules about operation
// op, with msg as its message.
func finding(id, op, msg string) contracts.Finding {
	for _, r := range Rules() {
		if r.ID == id {
			f := r.New("")
			f.Operation, f.Message = op, msg
			return f
		}
	}
	panic("sandbox: rule " + id + " is missing from rules.go")
}
