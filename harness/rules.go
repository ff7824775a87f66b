package harness

import (
	"slices"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/drift"
	"github.com/tetherkit/tether/harness/release"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/sandbox"
)

// Rules of the findings the suites report themselves. The suites also pass
// on the findings of the contracts, the sandbox's journal, the cassette
// linter and scanner, and the comparison of releases, each under its own
// package's rule; [Rules] lists them all.
const (
	RuleConnectorStopFailed        = "connector-stop-failed"
	RuleDeadLettersUnreadable      = "dead-letters-unreadable"
	RuleRetryAfterIgnored          = "retry-after-ignored"
	RuleCassetteUnused             = "cassette-unused"
	RuleOutcomeMismatch            = "outcome-mismatch"
	RuleDeadLetterMissing          = "dead-letter-missing"
	RuleUnexpectedDeadLetter       = "unexpected-dead-letter"
	RuleGoldenUnreadable           = "golden-unreadable"
	RuleGoldenMismatch             = "golden-mismatch"
	RuleScopeMissing               = "scope-missing"
	RuleScopeUnused                = "scope-unused"
	RuleSecretWrongVendor          = "secret-sent-to-wrong-vendor"
	RuleSecretInLogs               = "secret-in-logs"
	RuleInvalidEventCausedCall     = "invalid-event-caused-call"
	RuleInvalidEventAccepted       = "invalid-event-accepted"
	RuleTransportFailureNotRetried = "transport-failure-not-retried"
	RuleDuplicateSideEffect        = "duplicate-side-effect"
	RuleOutOfOrderFinalState       = "out-of-order-final-state"
	RuleStateMismatch              = "state-mismatch"
	RuleConnectorCrashed           = "connector-crashed"
	RulePermanentErrorRetried      = "permanent-error-retried"
	RuleRetryableErrorNotRetried   = "retryable-error-not-retried"
	RuleRetriesUnbounded           = "retries-unbounded"
	RuleIdempotencyKeyChanged      = "idempotency-key-changed"
	RuleIdempotencyKeyMissing      = "idempotency-key-missing"
	RuleForgedSignatureAccepted    = "forged-signature-accepted"
	RuleExpiredSignatureAccepted   = "expired-signature-accepted"
	RuleTokenExpiredNotRefreshed   = "token-expired-not-refreshed"
	RuleRefreshLoop                = "refresh-loop"
	RuleInsufficientScopeRetried   = "insufficient-scope-retried"
	RuleRotatedKeyRetried          = "rotated-key-retried"
	RuleNoBaseScenario             = "negative-no-base-scenario"
	RuleNegativeBase               = "negative-base"
	RuleNegativeCoverageReduced    = "negative-coverage-reduced"
	RuleVersionBumpInsufficient    = "version-bump-insufficient"
	RuleBaselineUnreadable         = "baseline-unreadable"
)

// rules is the catalogue of the suites' own findings.
var rules = ruleTable([]contracts.Rule{
	{ID: RuleConnectorStopFailed, Level: contracts.LevelError, Summary: "the connector did not stop cleanly", Hint: "a connector stops cleanly on SIGTERM, finishing the deliveries in flight"},
	{ID: RuleDeadLettersUnreadable, Level: contracts.LevelError, Summary: "the connector's dead-letter file cannot be read", Hint: "write dead letters with the SDK's sink"},
	{ID: RuleRetryAfterIgnored, Level: contracts.LevelError, Summary: "a call came again sooner than Retry-After allowed", Hint: "wait at least as long as Retry-After before calling the vendor again"},
	{ID: RuleCassetteUnused, Level: contracts.LevelWarning, Summary: "a vendor's cassettes answered no call", Hint: "a recorded interaction answers only a call with the same method, path, query and body; check what the connector sent in the golden file"},
	{ID: RuleOutcomeMismatch, Level: contracts.LevelError, Summary: "a delivery did not end as the scenario expects", Hint: "see the connector's log lines for this event"},
	{ID: RuleDeadLetterMissing, Level: contracts.LevelError, Summary: "an event given up on is not in the dead-letter sink", Hint: "an event the connector gives up on must be kept, with its error, for a person to replay"},
	{ID: RuleUnexpectedDeadLetter, Level: contracts.LevelError, Summary: "an event was dead-lettered that the scenario expects handled", Hint: "see the dead letter's error and the connector's log"},
	{ID: RuleGoldenUnreadable, Level: contracts.LevelError, Summary: "the scenario's golden file cannot be read", Hint: "run with -update to write it"},
	{ID: RuleGoldenMismatch, Level: contracts.LevelError, Summary: "the calls differ from the golden file", Hint: "if the change is intended, run with -update and review the golden file's diff"},
	{ID: RuleScopeMissing, Level: contracts.LevelError, Summary: "an operation the connector calls needs a scope the manifest does not declare", Hint: "declare the scope in connector.yaml, so that admins grant it, or stop calling the operation"},
	{ID: RuleScopeUnused, Level: contracts.LevelWarning, Summary: "a declared scope is needed by no operation the scenarios used", Hint: "ask admins for no more than the connector uses"},
	{ID: RuleSecretWrongVendor, Level: contracts.LevelError, Summary: "a vendor's credential was sent to another vendor", Hint: "send each vendor its own credential only"},
	{ID: RuleSecretInLogs, Level: contracts.LevelError, Summary: "the connector logged a secret", Hint: "never log secrets, nor requests with their Authorization header"},
	{ID: RuleInvalidEventCausedCall, Level: contracts.LevelError, Summary: "an invalid event made the connector call a vendor", Hint: "validate events before acting on them, and reject those that break the event contract"},
	{ID: RuleInvalidEventAccepted, Level: contracts.LevelWarning, Summary: "an invalid event was answered as handled", Hint: "answer 4xx, so the sender learns the event is bad"},
	{ID: RuleTransportFailureNotRetried, Level: contracts.LevelError, Summary: "the connector gave up after a transport failure without retrying", Hint: "a lost answer may come whole on the next attempt: retry, keeping the Idempotency-Key"},
	{ID: RuleDuplicateSideEffect, Level: contracts.LevelError, Summary: "a repeated delivery changed something at a vendor again", Hint: "de-duplicate by event ID (the SDK's idempotency store), and send an Idempotency-Key on writes"},
	{ID: RuleOutOfOrderFinalState, Level: contracts.LevelError, Summary: "events delivered out of order left another final state", Hint: "order events by their own time (occurred_at), and ignore one older than what was already applied"},
	{ID: RuleStateMismatch, Level: contracts.LevelError, Summary: "what a vendor holds at the end of the scenario differs from expect.state", Hint: "check what the connector wrote, or correct expect.state (tether sandbox model names the resources)"},
	{ID: RuleConnectorCrashed, Level: contracts.LevelError, Summary: "a valid event got no proper answer", Hint: "an optional field may be absent: check before using it"},
	{ID: RulePermanentErrorRetried, Level: contracts.LevelError, Summary: "a vendor's permanent error was retried", Hint: "an error that will not change on a retry is connectors.Permanent"},
	{ID: RuleRetryableErrorNotRetried, Level: contracts.LevelError, Summary: "a vendor's retryable error was not retried", Hint: "retry 408, 429 and 5xx, with backoff and within a budget"},
	{ID: RuleRetriesUnbounded, Level: contracts.LevelError, Summary: "the connector retried without bound", Hint: "bound retries by attempts and by a time budget"},
	{ID: RuleIdempotencyKeyChanged, Level: contracts.LevelError, Summary: "a retried write changed its Idempotency-Key", Hint: "derive the key from the event and the action (connectors.IdempotencyKey), so a retry cannot act twice"},
	{ID: RuleIdempotencyKeyMissing, Level: contracts.LevelWarning, Summary: "a retried write carried no Idempotency-Key", Hint: "send one derived from the event and the action (connectors.IdempotencyKey); where the vendor deduplicates by a field of the body instead (PagerDuty's dedup_key), waive this in the connector's policy.yaml with that reason"},
	{ID: RuleTokenExpiredNotRefreshed, Level: contracts.LevelError, Summary: "an expired token was not replaced", Hint: "get a new token when the vendor answers 401 invalid_token, once, and call again (connectors.TokenSource)"},
	{ID: RuleRefreshLoop, Level: contracts.LevelError, Summary: "the connector kept calling after its grant was revoked", Hint: "a refused refresh (invalid_grant, invalid_client) is permanent: dead-letter the event and report it; never refresh in a loop"},
	{ID: RuleInsufficientScopeRetried, Level: contracts.LevelError, Summary: "a call refused for a missing scope was made again", Hint: "403 insufficient_scope lasts until an admin grants the scope: treat it as permanent"},
	{ID: RuleRotatedKeyRetried, Level: contracts.LevelError, Summary: "a call refused for a rotated key was made again", Hint: "a static key refused with 401 stays refused until someone installs the new one: treat it as permanent"},
	{ID: RuleForgedSignatureAccepted, Level: contracts.LevelError, Summary: "a delivery signed with another key was accepted", Hint: "verify the signature and its timestamp before anything else, and answer 401"},
	{ID: RuleExpiredSignatureAccepted, Level: contracts.LevelError, Summary: "a delivery signed long ago was accepted", Hint: "verify the signature and its timestamp before anything else, and answer 401"},
	{ID: RuleNoBaseScenario, Level: contracts.LevelWarning, Summary: "the negative suite has no scenario to derive its cases from", Hint: "add a happy-path scenario"},
	{ID: RuleNegativeBase, Level: contracts.LevelInfo, Summary: "the scenario the negative suite derives its cases from", Hint: "the plain scenario whose golden file and cassettes call the most operations"},
	{ID: RuleNegativeCoverageReduced, Level: contracts.LevelWarning, Summary: "the negative suite does not exercise every operation the scenarios call", Hint: "give one plain, handled scenario the calls of the others (its cassettes name what it calls before its golden file exists)"},
	{ID: RuleVersionBumpInsufficient, Level: contracts.LevelError, Summary: "the version does not rise as much as the changes need", Hint: "raise the version as the bump says, or undo the change that needs it"},
	{ID: RuleBaselineUnreadable, Level: contracts.LevelError, Summary: "a baseline release could not be read or compared", Hint: "give a connector directory, git:REF or a release bundle"},
})

// ruleTable indexes rules by ID; an ID given twice is a programming error.
func ruleTable(rs []contracts.Rule) map[string]contracts.Rule {
	out := make(map[string]contracts.Rule, len(rs))
	for _, r := range rs {
		if _, dup := out[r.ID]; dup {
			panic("harness: rule " + r.ID + " is in rules.go twice")
		}
		out[r.ID] = r
	}
	return out
}

// Rules lists every rule a finding of tether can carry, sorted by ID: the
// suites' own, the gate's, and those of the contracts, the sandbox, the
// cassettes, the comparison of releases and the verification of bundles.
// tether rules prints them.
func Rules() []contracts.Rule {
	var out []contracts.Rule
	for _, r := range rules {
		out = append(out, r)
	}
	out = append(out, contracts.Rules()...)
	out = append(out, fixtures.Rules()...)
	out = append(out, sandbox.Rules()...)
	out = append(out, compat.Rules()...)
	out = append(out, report.Rules()...)
	out = append(out, release.Rules()...)
	out = append(out, drift.Rules()...)
	slices.SortFunc(out, func(a, b contracts.Rule) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

// newFinding is a finding of one of the suites' rules, at pos, with msg as
// its message; its level and hint come from the rule.
func newFinding(id string, pos contracts.Position, msg string) report.Finding {
	r, ok := rules[id]
	if !ok {
		panic("harness: rule " + id + " is missing from rules.go; add it there")
	}
	return report.Finding{Finding: contracts.Finding{ID: id, Level: r.Level, Position: pos, Message: msg, Hint: r.Hint}}
}

// at is the position of the connector's file rel.
func at(rel string) contracts.Position { return contracts.Position{File: rel} }
