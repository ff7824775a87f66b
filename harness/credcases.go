package harness

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/sandbox"
)

// Checks of the negative suite on credentials over time.
const (
	CheckTokenExpired = "token-expired" // the token expires mid-scenario
	CheckGrantRevoked = "grant-revoked" // the refresh token, or the client's secret, is revoked
	CheckScopeRemoved = "scope-removed" // an admin removes a scope the call needs
	CheckKeyRotated   = "key-rotated"   // the vendor's key is rotated
)

// loopBound is how many refused calls to a vendor (token requests
// included) the negative suite allows after its credential is revoked: a
// refresh, the call again with what it got, and one more for a connector
// that refreshes before expiry too. More is a loop.
const loopBound = 3

// credentialCases derive, for each vendor the base scenario calls, the
// cases of its credential's lifetime: an OAuth2 client's token expires, its
// grant is revoked and a scope is removed, each as the first call of the
// base to the vendor arrives; a static key is rotated likewise. Each
// case's findings name the scenario, the vendor and the call.
func (x *execution) credentialCases(bs *scenarioRun, ops []opRef) []negCase {
	m := x.c.Manifest
	// vendor -> the first operation the base calls on it that needs a
	// credential: a call that needs none would be refused for nothing.
	first := map[string]string{}
	for _, ref := range ops {
		if _, ok := first[ref.vendor]; !ok && x.secured(ref.vendor, ref.op) {
			first[ref.vendor] = ref.op
		}
	}
	var cases []negCase
	for _, vendor := range slices.Sorted(maps.Keys(first)) {
		c := m.Vendors[vendor].Credential
		if c == nil {
			continue
		}
		op := first[vendor]
		on := func(f sandbox.Fault) *sandbox.FaultPlan {
			return &sandbox.FaultPlan{Faults: []sandbox.Fault{f.On(op).ForVendor(vendor).FirstN(1)}}
		}
		where := fmt.Sprintf("%s on %s", op, vendor)
		if c.IsOAuth2() {
			name := CheckTokenExpired + "/" + vendor
			sc := derive(bs, name, manifest.OutcomeHandled)
			sc.Faults = on(sandbox.TokenExpired())
			cases = append(cases, negCase{check: CheckTokenExpired, name: name, sc: sc, judge: func(_, r *ScenarioResult) []report.Finding {
				return judgeTokenExpired(r, vendor, where)
			}})

			name = CheckGrantRevoked + "/" + vendor
			sc = derive(bs, name, manifest.OutcomeDeadLettered, manifest.OutcomeRejected, manifest.OutcomeRetry)
			sc.Faults = on(sandbox.GrantRevoked())
			what := "its refresh token was revoked"
			if c.Grant == manifest.GrantClientCredentials {
				what = "its client's secret was revoked"
			}
			cases = append(cases, negCase{check: CheckGrantRevoked, name: name, sc: sc, judge: func(_, r *ScenarioResult) []report.Finding {
				return judgeRefusedAfter(r, vendor, RuleRefreshLoop, fmt.Sprintf("after %s at %s, the connector", what, where))
			}})

			if scopes := x.operationScopes(vendor, op); len(scopes) > 0 {
				name = CheckScopeRemoved + "/" + vendor
				sc = derive(bs, name, manifest.OutcomeDeadLettered, manifest.OutcomeRejected)
				sc.Faults = on(sandbox.ScopeRemoved(scopes...))
				cases = append(cases, negCase{check: CheckScopeRemoved, name: name, sc: sc, judge: func(_, r *ScenarioResult) []report.Finding {
					return judgeRefusedAgain(r, vendor, op, http.StatusForbidden, RuleInsufficientScopeRetried,
						fmt.Sprintf("after scope %v was removed, %s was answered 403 insufficient_scope, and the connector", scopes, where))
				}})
			}
			continue
		}
		if c.Kind == manifest.KindBearer || (c.Kind == manifest.KindAPIKey && c.In != "body") {
			// A key in a body field is no scheme's, so the sandbox never
			// refuses it, rotated or not; basic passwords do not rotate.
			name := CheckKeyRotated + "/" + vendor
			sc := derive(bs, name, manifest.OutcomeDeadLettered, manifest.OutcomeRejected)
			sc.Faults = on(sandbox.KeyRotated())
			cases = append(cases, negCase{check: CheckKeyRotated, name: name, sc: sc, judge: func(_, r *ScenarioResult) []report.Finding {
				return judgeRefusedAgain(r, vendor, "", http.StatusUnauthorized, RuleRotatedKeyRetried,
					fmt.Sprintf("after its %s was rotated, %s was answered 401, and the connector", c.Kind, where))
			}})
		}
	}
	return cases
}

// operationScopes are the scopes op of vendor needs that the manifest
// declares: those a removal takes from the connector.
func (x *execution) operationScopes(vendor, op string) []string {
	ct := x.c.Contracts[vendor]
	if ct == nil {
		return nil
	}
	o, ok := ct.Operation(op)
	if !ok {
		return nil
	}
	var out []string
	for _, req := range o.Security {
		for _, scopes := range req {
			for _, s := range scopes {
				if slices.Contains(x.c.Manifest.Scopes, s) && !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
		if len(out) > 0 {
			break // one alternative is enough to take away
		}
	}
	return out
}

// judgeTokenExpired finds a connector that did not get a new token when
// its token expired: a call to vendor was refused 401, and none after it
// succeeded.
func judgeTokenExpired(r *ScenarioResult, vendor, where string) []report.Finding {
	refused := -1
	for i, e := range r.Journal {
		if e.Vendor != vendor {
			continue
		}
		switch {
		case e.Status == http.StatusUnauthorized && refused < 0:
			refused = i
		case refused >= 0 && e.Status >= 200 && e.Status < 300 && e.Operation != "":
			return nil
		}
	}
	if refused < 0 {
		return nil
	}
	e := r.Journal[refused]
	return []report.Finding{newFinding(RuleTokenExpiredNotRefreshed, at(r.Scenario.File),
		fmt.Sprintf("scenario %s: the token expired at %s; %s %s (journal #%d) was answered 401 and no later call to %s succeeded: the connector did not get a new token and call again",
			r.Scenario.Name, where, e.Method, e.Path, e.Seq, vendor))}
}

// judgeRefusedAfter finds a connector that kept calling vendor (token
// requests included) after its credential was revoked at the faulted
// call: more than [loopBound] refused calls for each delivery that called
// the vendor from then on.
func judgeRefusedAfter(r *ScenarioResult, vendor, rule, what string) []report.Finding {
	calls := slices.SortedFunc(slices.Values(slices.Concat(r.Journal, r.TokenCalls)), func(a, b sandbox.Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	from := -1
	for i, e := range calls {
		if e.Vendor == vendor && e.Fault != "" && e.Operation != "" {
			from = i
			break
		}
	}
	if from < 0 {
		return nil // the fault never met a call
	}
	n := 0
	deliveries := map[string]bool{}
	for _, e := range calls[from:] {
		if e.Vendor != vendor {
			continue
		}
		if e.Operation != "" {
			deliveries[e.CorrelationID] = true
		}
		if e.Status == http.StatusUnauthorized || e.Status == http.StatusBadRequest || e.Status == http.StatusForbidden {
			n++
		}
	}
	if allowed := loopBound * max(1, len(deliveries)); n > allowed {
		return []report.Finding{newFinding(rule, at(r.Scenario.File),
			fmt.Sprintf("scenario %s: %s made %d refused calls to %s from journal #%d on, over %d deliveries; it should stop, dead-letter the event or report, after at most %d each",
				r.Scenario.Name, what, n, vendor, calls[from].Seq, len(deliveries), loopBound))}
	}
	return nil
}

// judgeRefusedAgain finds a connector that called again what was refused
// with status for good: per delivery, a second call to vendor (to op, when
// given) after one answered status.
func judgeRefusedAgain(r *ScenarioResult, vendor, op string, status int, rule, what string) []report.Finding {
	for _, calls := range byDelivery(r.Journal) {
		refused := false
		for _, e := range calls {
			if e.Vendor != vendor || (op != "" && e.Operation != op) {
				continue
			}
			if refused {
				return []report.Finding{newFinding(rule, at(r.Scenario.File),
					fmt.Sprintf("scenario %s: %s called %s %s again (journal #%d), though the refusal is permanent", r.Scenario.Name, what, e.Method, e.Path, e.Seq))}
			}
			refused = e.Status == status
		}
	}
	return nil
}

// secured says whether op of vendor needs a credential.
func (x *execution) secured(vendor, op string) bool {
	ct := x.c.Contracts[vendor]
	if ct == nil {
		return false
	}
	o, ok := ct.Operation(op)
	return ok && len(o.Security) > 0
}
