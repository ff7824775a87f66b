package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/sandbox"
)

// Checks of a scenario run, as findings and reports name them.
const (
	CheckOutboundCalls = "outbound-calls" // contract: every call and answer valid
	CheckOutcome       = "outcome"        // replay: outcomes and dead letters as expected
	CheckGolden        = "golden"         // replay: calls equal the golden file
	CheckRetryAfter    = "retry-after"    // replay: no call sooner than Retry-After allows
	CheckCassettes     = "cassettes"      // replay: the scenario's cassettes answer
)

// execution is one run of the suites over a connector.
type execution struct {
	c     *manifest.Connector
	o     options
	start Starter
	work  string
	seq   atomic.Int64

	mu      sync.Mutex
	results map[string]*lazyResult // by scenario or case name

	compat []*compatRun // one per baseline, in the order given
}

// suiteOfCheck files the checks of a scenario run under their suites.
var suiteOfCheck = map[string]string{
	CheckOutboundCalls: report.SuiteContract,
	CheckOutcome:       report.SuiteReplay,
	CheckGolden:        report.SuiteReplay,
	CheckRetryAfter:    report.SuiteReplay,
	CheckCassettes:     report.SuiteReplay,
}

// replayChecks are the checks every replayed scenario reports, findings
// or not.
var replayChecks = []string{CheckOutcome, CheckGolden, CheckRetryAfter, CheckCassettes}

// Checks of the contract suite.
const (
	CheckCassetteLint = "cassette-lint" // every cassette interaction lints clean
	CheckEvents       = "events"        // every event validates against the event contract
	CheckScopes       = "scopes"        // operations used need no scope beyond the manifest's
	CheckSecrets      = "secrets"       // no credential goes to the wrong vendor or into logs
	CheckCassetteScan = "cassette-secrets"
)

// staticContract runs the contract checks about what the connector ships
// (its cassettes and sample events), which need no run.
func (x *execution) staticContract(check string) []report.Finding {
	c := x.c
	var out []report.Finding
	add := func(fs ...report.Finding) {
		for _, f := range fs {
			f.Suite, f.Check = report.SuiteContract, check
			out = append(out, f)
		}
	}
	switch check {
	case CheckCassetteLint, CheckCassetteScan:
		for _, rel := range slices.Sorted(maps.Keys(c.Cassettes)) {
			if path.Dir(rel) != manifest.CassetteDir {
				continue // a scenario's own cassette elsewhere is linted by its run
			}
			cas := c.Cassettes[rel]
			if check == CheckCassetteScan {
				data, _ := c.File(rel)
				for _, f := range fixtures.DefaultRedactor().ScanSource(cas, data) {
					f.Hint = "re-save the cassette with tether to redact it, and rotate the credential"
					add(report.Finding{Finding: f})
				}
				continue
			}
			for _, f := range fixtures.Lint(cas, x.vendorContracts()...) {
				add(report.Finding{Finding: f})
			}
		}
	case CheckEvents:
		for _, f := range x.eventFindings() {
			add(f)
		}
	}
	return out
}

// scopesCheck compares the scopes the operations the scenarios used need
// with the manifest's.
func (x *execution) scopesCheck(results []*ScenarioResult) []report.Finding {
	used := map[string]bool{} // vendor + "\x00" + operation
	for _, r := range results {
		for _, e := range r.Journal {
			if e.Operation != "" {
				used[e.Vendor+"\x00"+e.Operation] = true
			}
		}
	}
	fs := x.scopeFindings(used)
	for i := range fs {
		fs[i].Suite, fs[i].Check = report.SuiteContract, CheckScopes
	}
	return fs
}

// scenarioContract runs a contract check of one scenario's run.
func (x *execution) scenarioContract(check string, r *ScenarioResult) []report.Finding {
	var fs []report.Finding
	switch check {
	case CheckSecrets:
		fs = x.secretFindings(r)
	case CheckOutboundCalls:
		for _, f := range r.Findings {
			if f.Check == CheckOutboundCalls {
				fs = append(fs, f)
			}
		}
		fs = append(fs, x.answerFindings(r)...)
	}
	for i := range fs {
		fs[i].Suite, fs[i].Check, fs[i].Scenario = report.SuiteContract, check, r.Scenario.Name
	}
	return fs
}

func (x *execution) vendorContracts() []*contracts.Contract {
	var out []*contracts.Contract
	for _, name := range slices.Sorted(maps.Keys(x.c.Contracts)) {
		out = append(out, x.c.Contracts[name])
	}
	return out
}

// answerFindings validates each answer the connector got against the
// vendor's contract: a recorded answer that no longer matches it is a
// cassette to re-record, or a contract that changed. Answers a fault made
// on purpose, and bodies the journal cut short, are left alone.
func (x *execution) answerFindings(r *ScenarioResult) []report.Finding {
	var out []report.Finding
	for i, e := range r.Journal {
		ct := x.c.Contracts[e.Vendor]
		if ct == nil || e.Status == 0 || e.Fault != "" || e.BodyCut || e.Operation == "" {
			continue
		}
		req, err := http.NewRequest(e.Method, r.Calls[i].URL, strings.NewReader(e.RequestBody))
		if err != nil {
			continue
		}
		req.Header = e.RequestHeader.Clone()
		resp := &http.Response{StatusCode: e.Status, Header: e.ResponseHeader.Clone(), Body: io.NopCloser(strings.NewReader(e.ResponseBody)), Request: req}
		for _, p := range ct.ValidateResponse(req, resp) {
			f := report.Finding{Finding: p}
			f.Message = fmt.Sprintf("the answer to %s %s (%s, from %s): %s", e.Method, e.Path, e.Vendor, e.Source, p.Message)
			f.Hint = "an answer the vendor's contract does not allow: re-record the cassette, or check whether the contract changed"
			out = append(out, f)
		}
	}
	return out
}

// scopeFindings compares the scopes the used operations need with the
// manifest's: a missing one is an error, a declared one nothing needs a
// warning.
func (x *execution) scopeFindings(used map[string]bool) []report.Finding {
	m := x.c.Manifest
	declared := map[string]bool{}
	for _, s := range m.Scopes {
		declared[s] = true
	}
	needed := map[string]bool{}
	var out []report.Finding
	for _, key := range slices.Sorted(maps.Keys(used)) {
		vendor, opID, _ := strings.Cut(key, "\x00")
		ct := x.c.Contracts[vendor]
		op, ok := ct.Operation(opID)
		if !ok || len(op.Security) == 0 {
			continue
		}
		// The operation is allowed when one of its alternatives needs
		// only declared scopes; else the cheapest alternative says what
		// is missing.
		var missing []string
		for i, req := range op.Security {
			var lack []string
			for _, scopes := range req {
				for _, s := range scopes {
					if !declared[s] {
						lack = append(lack, s)
					}
				}
			}
			if i == 0 || len(lack) < len(missing) {
				missing = lack
			}
			if len(lack) == 0 {
				for _, scopes := range req {
					for _, s := range scopes {
						needed[s] = true
					}
				}
				break
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			out = append(out, newFinding(RuleScopeMissing, contracts.Position{File: ct.File(), Line: op.Line, Column: op.Column}, fmt.Sprintf("the connector calls %s on %s, which needs %s, not among the manifest's scopes", opID, vendor, strings.Join(slices.Compact(missing), ", "))))
		}
	}
	for _, s := range m.Scopes {
		if !needed[s] {
			out = append(out, newFinding(RuleScopeUnused, m.Position("scopes"), fmt.Sprintf("scope %s is declared, but no operation the scenarios used needs it", s)))
		}
	}
	return out
}

// secretFindings finds a secret of one vendor's credential (a token, a key,
// a client's secret, a refresh token) in a call to another vendor, and any
// secret in the connector's logs.
func (x *execution) secretFindings(r *ScenarioResult) []report.Finding {
	m := x.c.Manifest
	creds := r.credentials
	if creds == nil {
		creds = map[string]TestCredential{}
		for name, v := range m.Vendors {
			if v.Credential != nil {
				creds[name] = testCredential(r.Scenario.Tenant, name, *v.Credential, m.Scopes)
			}
		}
	}
	owners := secretValues(creds) // secret -> vendor it belongs to
	var out []report.Finding
	for _, e := range slices.Concat(r.Journal, r.TokenCalls) {
		text := e.Query + "\n" + e.RequestBody
		for name, vs := range e.RequestHeader {
			text += "\n" + name + ": " + strings.Join(vs, ", ")
		}
		for _, secret := range slices.Sorted(maps.Keys(owners)) {
			if owner := owners[secret]; owner != e.Vendor && strings.Contains(text, secret) {
				out = append(out, newFinding(RuleSecretWrongVendor, at(r.Scenario.File), fmt.Sprintf("%s %s on %s carries a secret of the %s credential (journal #%d)", e.Method, e.Path, e.Vendor, owner, e.Seq)))
			}
		}
	}
	secrets := slices.Sorted(maps.Keys(owners))
	if sig := m.Events.Signature.Signature; sig.Scheme != "" {
		secrets = append(secrets, signingKey(sig.Scheme, m.Name))
	}
	for _, s := range secrets {
		if strings.Contains(r.Logs, s) {
			what := "the webhook signing key"
			if owner, ok := owners[s]; ok {
				what = "a secret of the " + owner + " credential"
			}
			out = append(out, newFinding(RuleSecretInLogs, at(r.Scenario.File), "the connector's log holds "+what))
		}
	}
	return out
}

// Checks of the negative suite.
const (
	CheckInvalidEvent     = "invalid-event"
	CheckErrorStatus      = "error-status"
	CheckTransport        = "transport"
	CheckDuplicate        = "duplicate-delivery"
	CheckOutOfOrder       = "out-of-order"
	CheckOptionalMissing  = "optional-missing"
	CheckForgedSignature  = "forged-signature"
	CheckExpiredSignature = "expired-signature"
)

// negCase is a case the negative suite derives, with what it checks after
// the run.
type negCase struct {
	check string // the check it belongs to
	name  string // check/detail, unique
	sc    *scenarioRun
	judge func(base, r *ScenarioResult) []report.Finding
}

// baseScenario is the scenario the negative suite derives its cases
// from: of those that expect their events handled, with no faults and
// plain deliveries, the one that calls the most operations (the first of
// equals), as its golden file and its cassettes say. The cassettes count
// too, so that a first run, with no golden files yet, chooses as later
// runs do.
func (x *execution) baseScenario() *scenarioRun {
	var best *manifest.Scenario
	most := -1
	for _, sc := range x.c.Scenarios {
		if !plain(sc) {
			continue
		}
		if n := len(x.scenarioOperations(sc)); n > most {
			best, most = sc, n
		}
	}
	if best == nil {
		return nil
	}
	return x.own(best)
}

// plain says whether sc expects its events handled, with no faults and
// plain deliveries: a scenario the negative suite may derive from.
func plain(sc *manifest.Scenario) bool {
	return sc.Expect.Outcome == manifest.OutcomeHandled && sc.Faults == nil && sc.Deliver == (manifest.DeliverSpec{})
}

// baseFindings say which scenario the negative suite derives from and
// what it calls, and warn when the operations the other scenarios call
// are not all among them: the error-status and transport cases then miss
// those operations.
func (x *execution) baseFindings(bs *scenarioRun) []report.Finding {
	ops := x.scenarioOperations(bs.Scenario)
	names := func(refs []opRef) string {
		var s []string
		for _, r := range refs {
			s = append(s, r.vendor+"."+r.op)
		}
		if len(s) == 0 {
			return "no operation"
		}
		return strings.Join(s, ", ")
	}
	fs := []report.Finding{newFinding(RuleNegativeBase, at(bs.File),
		fmt.Sprintf("the negative suite derives its cases from scenario %s, which calls %s", bs.Name, names(ops)))}
	var missed []opRef
	var from []string
	for _, sc := range x.c.Scenarios {
		for _, ref := range x.scenarioOperations(sc) {
			if !slices.Contains(ops, ref) && !slices.Contains(missed, ref) {
				missed = append(missed, ref)
				if !slices.Contains(from, sc.Name) {
					from = append(from, sc.Name)
				}
			}
		}
	}
	if len(ops) == 0 || len(missed) > 0 {
		msg := fmt.Sprintf("scenario %s calls %s, so no negative case exercises an error answer or a transport failure of its vendors", bs.Name, names(ops))
		if len(missed) > 0 {
			msg = fmt.Sprintf("no negative case exercises %s, which scenario(s) %s call and the base scenario %s does not", names(missed), strings.Join(from, ", "), bs.Name)
		}
		fs = append(fs, newFinding(RuleNegativeCoverageReduced, at(bs.File), msg))
	}
	return fs
}

// judgeNegative keeps the run's own checks that hold for a derived case,
// adds the case's judgement, and files them under the case.
func judgeNegative(nc negCase, base, r *ScenarioResult) []report.Finding {
	var fs []report.Finding
	for _, f := range r.Findings {
		if f.Check == CheckOutcome || f.Check == CheckRetryAfter || f.Check == CheckOutboundCalls {
			fs = append(fs, f)
		}
	}
	fs = append(fs, nc.judge(base, r)...)
	for i := range fs {
		fs[i].Suite, fs[i].Scenario, fs[i].Check = report.SuiteNegative, "", nc.name
	}
	return fs
}

// derive copies the base scenario for a negative case: no golden file, and
// the outcomes that are safe.
func derive(base *scenarioRun, name string, accept ...string) *scenarioRun {
	sc := *base.Scenario
	sc.Name = name
	sc.Expect = manifest.Expect{Outcome: accept[0]}
	sc.Faults = nil
	sc.Deliver = manifest.DeliverSpec{}
	return &scenarioRun{Scenario: &sc, accept: accept}
}

// retryable says whether a vendor's status asks for a retry.
func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

func (x *execution) negativeCases(bs *scenarioRun) []negCase {
	var cases []negCase

	// Invalid events: variants of the base's first event.
	if len(bs.Events) > 0 {
		ev := bs.Events[0].Event
		var valid any
		if json.Unmarshal(ev.Body, &valid) == nil {
			variants, _ := x.c.Events.InvalidVariants(ev.Name, valid)
			cases = append(cases, x.optionalMissingCases(bs, variants)...)
			seenRule := map[string]bool{}
			for _, v := range variants {
				if seenRule[v.Rule] {
					continue
				}
				seenRule[v.Rule] = true
				body, err := json.Marshal(v.Value)
				if err != nil {
					continue
				}
				if v.Rule == contracts.VariantAdditionalProperty && !x.c.Events.Strict() {
					cases = append(cases, x.undeclaredFieldCase(bs, v, body))
					continue
				}
				sc := derive(bs, CheckInvalidEvent+"/"+v.Rule, manifest.OutcomeRejected, "invalid", manifest.OutcomeHandled)
				bad := ev
				bad.Body = body
				sc.Events = []manifest.ScenarioEvent{{File: bs.Events[0].File, Event: bad}}
				reason := v.Reason
				cases = append(cases, negCase{check: CheckInvalidEvent, name: sc.Name, sc: sc, judge: func(_, r *ScenarioResult) []report.Finding {
					var fs []report.Finding
					if len(r.Journal) > 0 {
						fs = append(fs, newFinding(RuleInvalidEventCausedCall, at(bs.Events[0].File), fmt.Sprintf("an event that %s made the connector call %s %s", reason, r.Journal[0].Vendor, r.Journal[0].Operation)))
					}
					for _, d := range r.Deliveries {
						if d.Outcome == manifest.OutcomeHandled {
							fs = append(fs, newFinding(RuleInvalidEventAccepted, at(bs.Events[0].File), fmt.Sprintf("an event that %s was answered as handled", reason)))
							break
						}
					}
					return fs
				}})
			}
		}
	}

	// The operations the base calls, as its golden file and cassettes
	// say, in the order first called: known before anything runs.
	ops := x.scenarioOperations(bs.Scenario)
	for _, ref := range ops {
		resps, err := x.c.Contracts[ref.vendor].ExampleResponses(ref.op, x.o.seed)
		if err != nil {
			continue
		}
		var codes []int
		for _, r := range resps {
			if r.Status >= 400 && !slices.Contains(codes, r.Status) {
				codes = append(codes, r.Status)
			}
		}
		slices.Sort(codes)
		for _, code := range codes {
			name := fmt.Sprintf("%s/%s/%d", CheckErrorStatus, ref.op, code)
			var sc *scenarioRun
			fault := sandbox.Status(code).On(ref.op).ForVendor(ref.vendor)
			switch {
			case code == http.StatusTooManyRequests:
				// Once, with a short Retry-After: the retry must wait for it.
				sc = derive(bs, name, manifest.OutcomeHandled)
				fault = sandbox.RateLimit(0, time.Second).On(ref.op).ForVendor(ref.vendor).FirstN(1)
			case retryable(code):
				sc = derive(bs, name, manifest.OutcomeDeadLettered, manifest.OutcomeRetry)
			default:
				sc = derive(bs, name, manifest.OutcomeRejected, manifest.OutcomeDeadLettered, manifest.OutcomeHandled)
			}
			sc.Faults = &sandbox.FaultPlan{Faults: []sandbox.Fault{fault}}
			code, ref := code, ref
			cases = append(cases, negCase{check: CheckErrorStatus, name: name, sc: sc, judge: func(_, r *ScenarioResult) []report.Finding {
				return judgeErrorStatus(r, ref.vendor, ref.op, code)
			}})
		}
	}

	cases = append(cases, x.credentialCases(bs, ops)...)

	// Transport failures on the first operation, once each: the connector
	// must retry and end handled (or give up safely).
	if len(ops) > 0 {
		ref := ops[0]
		for _, tf := range []struct {
			kind  string
			fault sandbox.Fault
		}{
			{"timeout", sandbox.Hang(500 * time.Millisecond)},
			{"reset", sandbox.Reset()},
			{"malformed", sandbox.Malformed()},
		} {
			name := fmt.Sprintf("%s/%s/%s", CheckTransport, ref.op, tf.kind)
			sc := derive(bs, name, manifest.OutcomeHandled, manifest.OutcomeDeadLettered, manifest.OutcomeRetry)
			sc.Faults = &sandbox.FaultPlan{Faults: []sandbox.Fault{tf.fault.On(ref.op).ForVendor(ref.vendor).FirstN(1)}}
			kind := tf.kind
			cases = append(cases, negCase{check: CheckTransport, name: name, sc: sc, judge: func(b, r *ScenarioResult) []report.Finding {
				if n := countOp(r, ref.vendor, ref.op); n < 2 && lastOutcome(r) != manifest.OutcomeHandled && len(r.Deliveries) == 1 {
					return []report.Finding{newFinding(RuleTransportFailureNotRetried, at(bs.File), fmt.Sprintf("after a %s on %s the connector gave up without retrying", kind, ref.op))}
				}
				return sameWrites(b, r, "after a "+kind+" and a retry")
			}})
		}
	}

	// Duplicates: three deliveries of each event, one effect.
	dup := derive(bs, CheckDuplicate, manifest.OutcomeHandled)
	dup.Deliver.Duplicates = 3
	cases = append(cases, negCase{check: CheckDuplicate, name: CheckDuplicate, sc: dup, judge: func(b, r *ScenarioResult) []report.Finding {
		return sameEffect(x.c, b, r, "with each event delivered three times")
	}})

	// Out of order: with two or more events, reversed.
	if len(bs.Events) > 1 {
		ooo := derive(bs, CheckOutOfOrder, manifest.OutcomeHandled)
		ooo.Events = slices.Clone(bs.Events)
		slices.Reverse(ooo.Events)
		cases = append(cases, negCase{check: CheckOutOfOrder, name: CheckOutOfOrder, sc: ooo, judge: func(b, r *ScenarioResult) []report.Finding {
			return sameFinalState(x.c, b, r)
		}})
	}

	// Signatures: another key, and (for schemes with a time) an old one.
	if sig := x.c.Manifest.Events.Signature; sig.Scheme != "" {
		forged := derive(bs, CheckForgedSignature, "unauthorized")
		forged.signWith = signingKey(sig.Scheme, "someone else")
		cases = append(cases, negCase{check: CheckForgedSignature, name: CheckForgedSignature, sc: forged, judge: func(_, r *ScenarioResult) []report.Finding {
			return refusedUnsigned(r, "signed with another key", "forged-signature-accepted")
		}})
		if sig.Timed() {
			old := derive(bs, CheckExpiredSignature, "unauthorized")
			old.signedAt = time.Now().Add(-time.Hour)
			cases = append(cases, negCase{check: CheckExpiredSignature, name: CheckExpiredSignature, sc: old, judge: func(_, r *ScenarioResult) []report.Finding {
				return refusedUnsigned(r, "signed an hour ago", "expired-signature-accepted")
			}})
		}
	}
	return cases
}

// maxOptionalCases bounds the optional-missing cases made per event.
const maxOptionalCases = 4

// optionalMissingCases deliver the base's first event without one of its
// optional fields (a field whose removal the schema allows) at a time: an
// event the sender may well send, which the connector must handle as it
// does the full one, and must not crash on.
func (x *execution) optionalMissingCases(bs *scenarioRun, variants []contracts.Variant) []negCase {
	ev := bs.Events[0].Event
	var doc any
	if json.Unmarshal(ev.Body, &doc) != nil {
		return nil
	}
	required := map[string]bool{}
	for _, v := range variants {
		if v.Rule == contracts.VariantRequiredMissing {
			required[v.Path] = true
		}
	}
	var paths []string
	var walk func(v any, path string)
	walk = func(v any, path string) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := path + "." + k
			if !required[p] {
				paths = append(paths, p)
			}
			walk(m[k], p)
		}
	}
	walk(doc, "$")
	var out []negCase
	for _, p := range paths {
		if len(out) == maxOptionalCases {
			break
		}
		var copyDoc any
		json.Unmarshal(ev.Body, &copyDoc)
		if !removePath(copyDoc, strings.Split(strings.TrimPrefix(p, "$."), ".")) {
			continue
		}
		body, err := json.Marshal(copyDoc)
		if err != nil || contracts.HasErrors(x.c.Events.ValidateEvent(ev.Name, body)) {
			continue
		}
		sc := derive(bs, CheckOptionalMissing+"/"+strings.TrimPrefix(p, "$."), manifest.OutcomeHandled)
		without := ev
		without.Body = body
		sc.Events = []manifest.ScenarioEvent{{File: bs.Events[0].File, Event: without}}
		field := p
		out = append(out, negCase{check: CheckOptionalMissing, name: sc.Name, sc: sc, judge: func(_, r *ScenarioResult) []report.Finding {
			for _, d := range r.Deliveries {
				if d.Status == 0 || d.Status >= 500 && d.Outcome != manifest.OutcomeRetry {
					return []report.Finding{newFinding(RuleConnectorCrashed, at(bs.Events[0].File), fmt.Sprintf("an event without its optional %s got no proper answer (%s)", field, describeDelivery(d)))}
				}
			}
			return nil
		}})
	}
	return out
}

// removePath deletes the field at path from doc, reporting whether it was
// there.
func removePath(doc any, path []string) bool {
	m, ok := doc.(map[string]any)
	if !ok || len(path) == 0 {
		return false
	}
	if len(path) == 1 {
		_, had := m[path[0]]
		delete(m, path[0])
		return had
	}
	return removePath(m[path[0]], path[1:])
}

// opRef is an operation of a vendor.
type opRef struct{ vendor, op string }

// scenarioOperations resolves the calls of a scenario's golden file, then
// its cassettes' interactions, to the vendors' operations, in the order
// first called.
func (x *execution) scenarioOperations(sc *manifest.Scenario) []opRef {
	var ops []opRef
	add := func(vendors []string, method, url string) {
		for _, vendor := range vendors {
			ct := x.c.Contracts[vendor]
			if ct == nil || !servesURL(ct, url) {
				continue
			}
			if m, err := ct.Find(method, url); err == nil {
				if ref := (opRef{vendor, m.Operation.ID}); !slices.Contains(ops, ref) {
					ops = append(ops, ref)
				}
				return
			}
		}
	}
	all := slices.Sorted(maps.Keys(x.c.Contracts))
	for _, call := range x.c.Golden[sc.Expect.Golden] {
		add(all, call.Method, call.URL)
	}
	for _, vendor := range sc.CassetteVendors() {
		for _, cas := range x.c.ScenarioCassettes(sc, vendor) {
			for _, in := range cas.Interactions {
				add([]string{vendor}, in.Request.Method, in.Request.URL)
			}
		}
	}
	return ops
}

// servesURL says whether one of ct's servers is where u points.
func servesURL(ct *contracts.Contract, u string) bool {
	for _, srv := range ct.Servers() {
		if strings.HasPrefix(u, strings.TrimRight(srv.Resolved, "/")+"/") {
			return true
		}
	}
	return false
}

// maxAttempts is the most calls of one operation for one event the
// negative suite accepts before it calls the retries unbounded.
const maxAttempts = 10

func judgeErrorStatus(r *ScenarioResult, vendor, op string, code int) []report.Finding {
	loc := at(r.Scenario.File)
	var out []report.Finding
	seen := map[string]bool{}
	add := func(f report.Finding) {
		if !seen[f.ID] {
			seen[f.ID] = true
			out = append(out, f)
		}
	}
	// Judged per delivery: each event's calls share its correlation ID.
	for _, calls := range byDelivery(r.Journal) {
		n, hit := 0, false
		var keys []string
		for _, e := range calls {
			if e.Vendor != vendor || e.Operation != op {
				continue
			}
			n++
			hit = hit || e.Status == code
			if e.Method != http.MethodGet && e.Method != http.MethodHead {
				keys = append(keys, e.RequestHeader.Get("Idempotency-Key"))
			}
		}
		switch {
		case !hit:
			continue // the fault did not reach this event's calls
		case !retryable(code) && n > 1:
			f := newFinding(RulePermanentErrorRetried, loc, fmt.Sprintf("%s answered %d and the connector called it %d times for one event", op, code, n))
			f.Hint = fmt.Sprintf("%d will not change on a retry: return connectors.Permanent", code)
			add(f)
		case retryable(code) && n < 2:
			add(newFinding(RuleRetryableErrorNotRetried, loc, fmt.Sprintf("%s answered %d and the connector did not call it again", op, code)))
		}
		if n > maxAttempts {
			add(newFinding(RuleRetriesUnbounded, loc, fmt.Sprintf("%s answered %d and the connector called it %d times for one event", op, code, n)))
		}
		// A write retried must carry the same Idempotency-Key. Without
		// any key the retry may act twice, unless the vendor deduplicates
		// by something in the body (PagerDuty's dedup_key): a warning,
		// which such a connector waives in its policy.
		distinct := slices.Compact(slices.Sorted(slices.Values(keys)))
		switch {
		case len(keys) < 2:
		case len(distinct) == 1 && distinct[0] == "":
			add(newFinding(RuleIdempotencyKeyMissing, loc, fmt.Sprintf("%s was retried without an Idempotency-Key (%d calls)", op, len(keys))))
		case keys[0] == "" || len(distinct) > 1:
			add(newFinding(RuleIdempotencyKeyChanged, loc, fmt.Sprintf("%s was retried with Idempotency-Key values %q", op, keys)))
		}
	}
	return out
}

// byDelivery groups journaled calls by the delivery that caused them, by
// correlation ID, in the order first seen.
func byDelivery(entries []sandbox.Entry) [][]sandbox.Entry {
	index := map[string]int{}
	var out [][]sandbox.Entry
	for _, e := range entries {
		i, ok := index[e.CorrelationID]
		if !ok {
			i = len(out)
			index[e.CorrelationID] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], e)
	}
	return out
}

func countOp(r *ScenarioResult, vendor, op string) int {
	n := 0
	for _, e := range r.Journal {
		if e.Vendor == vendor && e.Operation == op {
			n++
		}
	}
	return n
}

func lastOutcome(r *ScenarioResult) string {
	if len(r.Deliveries) == 0 {
		return ""
	}
	return r.Deliveries[len(r.Deliveries)-1].Outcome
}

// writes are the calls that changed something at a vendor, in the golden
// form "METHOD URL body". Writes sent with one Idempotency-Key count once,
// as the vendor applies them once.
func writes(r *ScenarioResult) []string {
	var out []string
	keys := map[string]bool{}
	for i, e := range r.Journal {
		if e.Method == http.MethodGet || e.Method == http.MethodHead || e.Status >= 300 || e.Status == 0 {
			continue
		}
		if k := e.RequestHeader.Get("Idempotency-Key"); k != "" {
			if keys[e.Vendor+" "+k] {
				continue
			}
			keys[e.Vendor+" "+k] = true
		}
		out = append(out, e.Method+" "+r.Calls[i].URL+" "+r.Calls[i].Body)
	}
	slices.Sort(out)
	return out
}

// sameEffect judges a duplicate delivery by its effect: what the vendors
// with state hold at the end must be what one delivery leaves, and the
// writes answered otherwise (stateless vendors, cassettes) must be as many
// as one delivery makes.
func sameEffect(c *manifest.Connector, base, r *ScenarioResult, how string) []report.Finding {
	var out []report.Finding
	if diff, ok := stateDiff(c, base, r); ok && diff != "" {
		out = append(out, newFinding(RuleDuplicateSideEffect, at(r.Scenario.File), fmt.Sprintf("%s the vendors hold something else at the end than after one delivery (-once +repeated):\n%s", how, cut(diff))))
	}
	count := func(r *ScenarioResult) int {
		n := 0
		for _, e := range r.Journal {
			if e.Method != http.MethodGet && e.Method != http.MethodHead && !answeredFromState(e) {
				n++
			}
		}
		return n
	}
	if want, got := count(base), count(r); got != want {
		out = append(out, newFinding(RuleDuplicateSideEffect, at(r.Scenario.File), fmt.Sprintf("%s the connector made %d writes; delivered once, it makes %d", how, got, want)))
	}
	return out
}

// sameFinalState judges reversed deliveries by the final state: what the
// vendors with state hold at the end, and the last successful write to
// each resource answered otherwise, must be the base's. An older event
// delivered late must not overwrite what a newer one wrote.
func sameFinalState(c *manifest.Connector, base, r *ScenarioResult) []report.Finding {
	var out []report.Finding
	if diff, ok := stateDiff(c, base, r); ok && diff != "" {
		out = append(out, newFinding(RuleOutOfOrderFinalState, at(r.Scenario.File), fmt.Sprintf("with the events in reverse order the vendors hold another final state (-in order +reversed):\n%s", cut(diff))))
	}
	last := func(r *ScenarioResult) map[string]string {
		out := map[string]string{}
		for i, e := range r.Journal {
			if e.Method == http.MethodGet || e.Method == http.MethodHead || e.Status >= 300 || e.Status == 0 || answeredFromState(e) {
				continue
			}
			out[e.Method+" "+r.Calls[i].URL] = r.Calls[i].Body
		}
		return out
	}
	want, got := last(base), last(r)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			out = append(out, newFinding(RuleOutOfOrderFinalState, at(r.Scenario.File), fmt.Sprintf("with the events in reverse order, the last %s sent %s; in order it sends %s", k, got[k], want[k])))
		}
	}
	return out
}

// cut bounds a difference printed in a finding.
func cut(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "\n..."
	}
	return s
}

// sameWrites compares the successful writes of a case with the base's: a
// duplicate or out-of-order delivery must have the same effect.
func sameWrites(base, r *ScenarioResult, how string) []report.Finding {
	want, got := writes(base), writes(r)
	if slices.Equal(want, got) {
		return nil
	}
	return []report.Finding{newFinding(RuleDuplicateSideEffect, at(r.Scenario.File), fmt.Sprintf("%s the connector made %d successful writes; the scenario alone makes %d", how, len(got), len(want)))}
}

// refusedUnsigned checks that a delivery with a bad signature was refused
// before any call.
func refusedUnsigned(r *ScenarioResult, what, id string) []report.Finding {
	var out []report.Finding
	for _, d := range r.Deliveries {
		if d.Status != http.StatusUnauthorized && d.Status != http.StatusForbidden {
			out = append(out, newFinding(id, at(r.Scenario.File), fmt.Sprintf("a delivery %s was answered %d (%s)", what, d.Status, d.Outcome)))
			break
		}
	}
	if len(r.Journal) > 0 && len(out) == 0 {
		out = append(out, newFinding(id, at(r.Scenario.File), fmt.Sprintf("a delivery %s caused %d vendor calls", what, len(r.Journal))))
	}
	return out
}

// eventFindings validates every sample event once against the event
// contract. Each finding keeps the payload's JSON path and the position of
// the contract's keyword; one problem found in several events files (the
// same event type, path, keyword and message) is one finding, placed at
// the first file and naming how many others share it.
func (x *execution) eventFindings() []report.Finding {
	c := x.c
	type problem struct {
		f     report.Finding
		files []string
	}
	var order []string
	problems := map[string]*problem{}
	seen := map[string]bool{}
	for _, sc := range c.Scenarios {
		for _, se := range sc.Events {
			key := se.Event.Name + "\x00" + string(se.Event.Body)
			if seen[se.File+"\x00"+key] {
				continue
			}
			seen[se.File+"\x00"+key] = true
			for _, p := range c.Events.ValidateEvent(se.Event.Name, se.Event.Body) {
				k := strings.Join([]string{p.ID, se.Event.Name, p.Path, p.Position.String(), p.Message}, "\x00")
				if pr := problems[k]; pr != nil {
					if !slices.Contains(pr.files, se.File) {
						pr.files = append(pr.files, se.File)
					}
					continue
				}
				f := report.Finding{Finding: p}
				f.Contract, f.Position = p.Position, contracts.Position{File: se.File}
				f.Message = fmt.Sprintf("event %s: %s", se.Event.Name, p.Message)
				if p.ID == contracts.RuleEventInvalid {
					f.Hint = "the sample event breaks the event contract " + eventSource(c)
				}
				problems[k] = &problem{f: f, files: []string{se.File}}
				order = append(order, k)
			}
		}
	}
	out := make([]report.Finding, 0, len(order))
	for _, k := range order {
		pr := problems[k]
		if n := len(pr.files) - 1; n > 0 {
			pr.f.Message += fmt.Sprintf(" (also in %s)", strings.Join(pr.files[1:], ", "))
		}
		out = append(out, pr.f)
	}
	return out
}

// eventSource names what declares the connector's events, for hints.
func eventSource(c *manifest.Connector) string {
	if c.Manifest.Events.Contract != "" {
		return c.Manifest.Events.Contract
	}
	return "in " + manifest.File + " events.schemas"
}

// undeclaredFieldCase delivers the base's first event with a field its
// schema does not declare. Events are read tolerantly unless the manifest
// says events.strict: senders add fields as their payloads evolve, so the
// connector may act on such an event as on the original; it must only not
// crash on it.
func (x *execution) undeclaredFieldCase(bs *scenarioRun, v contracts.Variant, body []byte) negCase {
	sc := derive(bs, CheckInvalidEvent+"/"+v.Rule, manifest.OutcomeHandled, manifest.OutcomeRejected, "invalid")
	ev := bs.Events[0].Event
	ev.Body = body
	sc.Events = []manifest.ScenarioEvent{{File: bs.Events[0].File, Event: ev}}
	reason := v.Reason
	return negCase{check: CheckInvalidEvent, name: sc.Name, sc: sc, judge: func(_, r *ScenarioResult) []report.Finding {
		for _, d := range r.Deliveries {
			if d.Status == 0 || d.Status >= 500 && d.Outcome != manifest.OutcomeRetry {
				return []report.Finding{newFinding(RuleConnectorCrashed, at(bs.Events[0].File), fmt.Sprintf("an event that %s, which a tolerant reader accepts, got no proper answer (%s)", reason, describeDelivery(d)))}
			}
		}
		return nil
	}}
}
