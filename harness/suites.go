package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/replay"
	"github.com/tetherkit/tether/sandbox"
)

// Suites, in the order a report lists them.
const (
	SuiteContract = "contract"
	SuiteNegative = "negative"
	SuiteReplay   = "replay"
)

// AllSuites are the suites [Execute] runs unless told otherwise.
var AllSuites = []string{SuiteContract, SuiteNegative, SuiteReplay}

// Case is one run of the connector a suite made: a scenario of the
// connector's own (replay), or one the negative suite derived from it.
type Case struct {
	Suite  string
	Name   string // the scenario's name, or the negative check's
	Result *ScenarioResult
}

// execution is one run of the suites over a connector.
type execution struct {
	c     *Connector
	o     options
	start starter
	work  string
	seq   atomic.Int64

	mu      sync.Mutex
	results map[string]*lazyResult // by scenario or case name

	compat []*compatRun // one per baseline, in the order given
}

// suiteOfCheck files the checks of a scenario run under their suites.
var suiteOfCheck = map[string]string{
	CheckOutboundCalls: SuiteContract,
	CheckOutcome:       SuiteReplay,
	CheckGolden:        SuiteReplay,
	CheckRetryAfter:    SuiteReplay,
	CheckCassettes:     SuiteReplay,
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
func (x *execution) staticContract(check string) []Finding {
	c := x.c
	var out []Finding
	add := func(fs ...Finding) {
		for _, f := range fs {
			f.Suite, f.Check = SuiteContract, check
			out = append(out, f)
		}
	}
	switch check {
	case CheckCassetteLint, CheckCassetteScan:
		cassettes, _ := filepath.Glob(c.Manifest.Path(filepath.Join("cassettes", "*.yaml")))
		slices.Sort(cassettes)
		for _, p := range cassettes {
			rel := x.rel(p)
			if check == CheckCassetteScan {
				scan, err := fixtures.DefaultRedactor().ScanFile(p)
				if err != nil {
					add(Finding{ID: "cassette-unreadable", Level: LevelError, Location: rel, Message: err.Error()})
					continue
				}
				for _, f := range scan {
					add(Finding{ID: f.Rule, Level: LevelError,
						Location: fmt.Sprintf("%s:%d (interaction %d)", rel, f.Line, f.Interaction), Message: f.Message,
						Hint: "re-save the cassette with tether to redact it, and rotate the credential"})
				}
				continue
			}
			cas, err := fixtures.Load(p)
			if err != nil {
				add(Finding{ID: "cassette-unreadable", Level: LevelError, Location: rel, Message: err.Error()})
				continue
			}
			for _, f := range fixtures.Lint(cas, x.vendorContracts()...) {
				add(Finding{ID: f.Rule, Level: f.Level.String(),
					Location: fmt.Sprintf("%s:%d (interaction %d)", rel, f.Line, f.Interaction), Message: f.Message, Hint: f.Hint})
			}
		}
	case CheckEvents:
		seen := map[string]bool{}
		for _, sc := range c.Scenarios {
			for _, se := range sc.Events {
				key := se.File + "\x00" + se.Event.Name + "\x00" + string(se.Event.Body)
				if seen[key] {
					continue
				}
				seen[key] = true
				for _, p := range c.Events.ValidateEvent(se.Event.Name, se.Event.Body) {
					add(Finding{ID: p.Rule, Level: p.Level.String(), Location: x.rel(se.File),
						Message: fmt.Sprintf("event %s: %s", se.Event.Name, p.Message), Hint: "the sample event breaks the event contract " + c.Manifest.Events.Contract})
				}
			}
		}
	}
	return out
}

// scopesCheck compares the scopes the operations the scenarios used need
// with the manifest's.
func (x *execution) scopesCheck(results []*ScenarioResult) []Finding {
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
		fs[i].Suite, fs[i].Check = SuiteContract, CheckScopes
	}
	return fs
}

// scenarioContract runs a contract check of one scenario's run.
func (x *execution) scenarioContract(check string, r *ScenarioResult) []Finding {
	var fs []Finding
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
		fs[i].Suite, fs[i].Check, fs[i].Scenario = SuiteContract, check, r.Scenario.Name
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

// rel names a file of the connector relative to its directory.
func (x *execution) rel(p string) string {
	if r, err := filepath.Rel(x.c.Manifest.Dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// answerFindings validates each answer the connector got against the
// vendor's contract: a recorded answer that no longer matches it is a
// cassette to re-record, or a contract that changed. Answers a fault made
// on purpose, and bodies the journal cut short, are left alone.
func (x *execution) answerFindings(r *ScenarioResult) []Finding {
	var out []Finding
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
			out = append(out, Finding{ID: p.Rule, Level: p.Level.String(), Location: p.Location(),
				Message: fmt.Sprintf("the answer to %s %s (%s, from %s): %s", e.Method, e.Path, e.Vendor, e.Source, p.Message),
				Hint:    "an answer the vendor's contract does not allow: re-record the cassette, or check whether the contract changed"})
		}
	}
	return out
}

// scopeFindings compares the scopes the used operations need with the
// manifest's: a missing one is an error, a declared one nothing needs a
// warning.
func (x *execution) scopeFindings(used map[string]bool) []Finding {
	m := x.c.Manifest
	declared := map[string]bool{}
	for _, s := range m.Scopes {
		declared[s] = true
	}
	needed := map[string]bool{}
	var out []Finding
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
			out = append(out, Finding{ID: "scope-missing", Level: LevelError,
				Location: fmt.Sprintf("%s:%d", ct.File(), op.Line),
				Message:  fmt.Sprintf("the connector calls %s on %s, which needs %s, not among the manifest's scopes", opID, vendor, strings.Join(slices.Compact(missing), ", ")),
				Hint:     "declare the scope in connector.yaml, so that admins grant it, or stop calling the operation"})
		}
	}
	for _, s := range m.Scopes {
		if !needed[s] {
			out = append(out, Finding{ID: "scope-unused", Level: LevelWarning, Location: fmt.Sprintf("%s:%d", m.File, m.line("scopes")),
				Message: fmt.Sprintf("scope %s is declared, but no operation the scenarios used needs it", s),
				Hint:    "ask admins for no more than the connector uses"})
		}
	}
	return out
}

// secretFindings finds a vendor's token in a call to another vendor, and
// any secret in the connector's logs.
func (x *execution) secretFindings(r *ScenarioResult) []Finding {
	m := x.c.Manifest
	tokens := map[string]string{} // token -> vendor it belongs to
	for name, v := range m.Vendors {
		if v.Secret != "" {
			tokens[tokenFor(r.Scenario.Tenant, name)] = name
		}
	}
	var out []Finding
	for _, e := range r.Journal {
		text := e.Query + "\n" + e.RequestBody
		for name, vs := range e.RequestHeader {
			text += "\n" + name + ": " + strings.Join(vs, ", ")
		}
		for _, tok := range slices.Sorted(maps.Keys(tokens)) {
			if owner := tokens[tok]; owner != e.Vendor && strings.Contains(text, tok) {
				out = append(out, Finding{ID: "secret-sent-to-wrong-vendor", Level: LevelError, Location: fmt.Sprintf("journal #%d", e.Seq),
					Message: fmt.Sprintf("%s %s on %s carries the %s token", e.Method, e.Path, e.Vendor, owner),
					Hint:    "send each vendor its own credential only"})
			}
		}
	}
	secrets := slices.Sorted(maps.Keys(tokens))
	if sig := m.Events.Signature; sig.Scheme != "" {
		secrets = append(secrets, signingKey(sig.Scheme, m.Name))
	}
	for _, s := range secrets {
		if strings.Contains(r.Logs, s) {
			what := "a vendor token"
			if _, ok := tokens[s]; !ok {
				what = "the webhook signing key"
			}
			out = append(out, Finding{ID: "secret-in-logs", Level: LevelError, Location: r.Scenario.File,
				Message: "the connector's log holds " + what, Hint: "never log secrets, nor requests with their Authorization header"})
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
	sc    *Scenario
	judge func(base, r *ScenarioResult) []Finding
}

// baseScenario is the scenario the negative suite derives its cases
// from: of those that expect their events handled, with no faults and
// plain deliveries, the one whose golden file calls the most operations
// (the first of equals).
func (x *execution) baseScenario() *Scenario {
	var best *Scenario
	most := -1
	for _, sc := range x.c.Scenarios {
		if sc.Expect.Outcome != OutcomeHandled || sc.Faults != nil || sc.Deliver != (DeliverSpec{}) {
			continue
		}
		if n := len(x.goldenOperations(sc)); n > most {
			best, most = sc, n
		}
	}
	return best
}

// judgeNegative keeps the run's own checks that hold for a derived case,
// adds the case's judgement, and files them under the case.
func judgeNegative(nc negCase, base, r *ScenarioResult) []Finding {
	var fs []Finding
	for _, f := range r.Findings {
		if f.Check == CheckOutcome || f.Check == CheckRetryAfter || f.Check == CheckOutboundCalls {
			fs = append(fs, f)
		}
	}
	fs = append(fs, nc.judge(base, r)...)
	for i := range fs {
		fs[i].Suite, fs[i].Scenario, fs[i].Check = SuiteNegative, "", nc.name
	}
	return fs
}

// derive copies the base scenario for a negative case: no golden file, and
// the outcomes that are safe.
func derive(base *Scenario, name string, accept ...string) *Scenario {
	sc := *base
	sc.Name = name
	sc.Expect = Expect{Outcome: accept[0]}
	sc.accept = accept
	sc.Faults = nil
	sc.Deliver = DeliverSpec{}
	return &sc
}

// retryable says whether a vendor's status asks for a retry.
func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

func (x *execution) negativeCases(bs *Scenario) []negCase {
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
				sc := derive(bs, CheckInvalidEvent+"/"+v.Rule, OutcomeRejected, "invalid", OutcomeHandled)
				bad := ev
				bad.Body = body
				sc.Events = []ScenarioEvent{{File: bs.Events[0].File, Event: bad}}
				reason := v.Reason
				cases = append(cases, negCase{check: CheckInvalidEvent, name: sc.Name, sc: sc, judge: func(_, r *ScenarioResult) []Finding {
					var fs []Finding
					if len(r.Journal) > 0 {
						fs = append(fs, Finding{ID: "invalid-event-caused-call", Level: LevelError, Location: x.rel(bs.Events[0].File),
							Message: fmt.Sprintf("an event that %s made the connector call %s %s", reason, r.Journal[0].Vendor, r.Journal[0].Operation),
							Hint:    "validate events before acting on them, and reject those that break the event contract"})
					}
					for _, d := range r.Deliveries {
						if d.Outcome == OutcomeHandled {
							fs = append(fs, Finding{ID: "invalid-event-accepted", Level: LevelWarning, Location: x.rel(bs.Events[0].File),
								Message: fmt.Sprintf("an event that %s was answered as handled", reason),
								Hint:    "answer 4xx, so the sender learns the event is bad"})
							break
						}
					}
					return fs
				}})
			}
		}
	}

	// The operations the base calls, as its golden file says, in the
	// order first called: known before anything runs.
	ops := x.goldenOperations(bs)
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
			var sc *Scenario
			fault := sandbox.Status(code).On(ref.op).ForVendor(ref.vendor)
			switch {
			case code == http.StatusTooManyRequests:
				// Once, with a short Retry-After: the retry must wait for it.
				sc = derive(bs, name, OutcomeHandled)
				fault = sandbox.RateLimit(0, time.Second).On(ref.op).ForVendor(ref.vendor).FirstN(1)
			case retryable(code):
				sc = derive(bs, name, OutcomeDeadLettered, OutcomeRetry)
			default:
				sc = derive(bs, name, OutcomeRejected, OutcomeDeadLettered, OutcomeHandled)
			}
			sc.Faults = &sandbox.FaultPlan{Faults: []sandbox.Fault{fault}}
			code, ref := code, ref
			cases = append(cases, negCase{check: CheckErrorStatus, name: name, sc: sc, judge: func(_, r *ScenarioResult) []Finding {
				return judgeErrorStatus(r, ref.vendor, ref.op, code)
			}})
		}
	}

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
			sc := derive(bs, name, OutcomeHandled, OutcomeDeadLettered, OutcomeRetry)
			sc.Faults = &sandbox.FaultPlan{Faults: []sandbox.Fault{tf.fault.On(ref.op).ForVendor(ref.vendor).FirstN(1)}}
			kind := tf.kind
			cases = append(cases, negCase{check: CheckTransport, name: name, sc: sc, judge: func(b, r *ScenarioResult) []Finding {
				if n := countOp(r, ref.vendor, ref.op); n < 2 && lastOutcome(r) != OutcomeHandled && len(r.Deliveries) == 1 {
					return []Finding{{ID: "transport-failure-not-retried", Level: LevelError, Location: bs.File,
						Message: fmt.Sprintf("after a %s on %s the connector gave up without retrying", kind, ref.op),
						Hint:    "a lost answer may come whole on the next attempt: retry, keeping the Idempotency-Key"}}
				}
				return sameWrites(b, r, "after a "+kind+" and a retry")
			}})
		}
	}

	// Duplicates: three deliveries of each event, one effect.
	dup := derive(bs, CheckDuplicate, OutcomeHandled)
	dup.Deliver.Duplicates = 3
	cases = append(cases, negCase{check: CheckDuplicate, name: CheckDuplicate, sc: dup, judge: func(b, r *ScenarioResult) []Finding {
		return sameEffect(b, r, "with each event delivered three times")
	}})

	// Out of order: with two or more events, reversed.
	if len(bs.Events) > 1 {
		ooo := derive(bs, CheckOutOfOrder, OutcomeHandled)
		ooo.Events = slices.Clone(bs.Events)
		slices.Reverse(ooo.Events)
		cases = append(cases, negCase{check: CheckOutOfOrder, name: CheckOutOfOrder, sc: ooo, judge: func(b, r *ScenarioResult) []Finding {
			return sameFinalState(b, r)
		}})
	}

	// Signatures: another key, and (for schemes with a time) an old one.
	if sig := x.c.Manifest.Events.Signature; sig.Scheme != "" {
		forged := derive(bs, CheckForgedSignature, "unauthorized")
		forged.signWith = signingKey(sig.Scheme, "someone else")
		cases = append(cases, negCase{check: CheckForgedSignature, name: CheckForgedSignature, sc: forged, judge: func(_, r *ScenarioResult) []Finding {
			return refusedUnsigned(r, "signed with another key", "forged-signature-accepted")
		}})
		if sig.Scheme != SchemeHMAC {
			old := derive(bs, CheckExpiredSignature, "unauthorized")
			old.signedAt = time.Now().Add(-time.Hour)
			cases = append(cases, negCase{check: CheckExpiredSignature, name: CheckExpiredSignature, sc: old, judge: func(_, r *ScenarioResult) []Finding {
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
func (x *execution) optionalMissingCases(bs *Scenario, variants []contracts.Variant) []negCase {
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
		if err != nil || len(x.c.Events.ValidateEvent(ev.Name, body)) > 0 {
			continue
		}
		sc := derive(bs, CheckOptionalMissing+"/"+strings.TrimPrefix(p, "$."), OutcomeHandled)
		without := ev
		without.Body = body
		sc.Events = []ScenarioEvent{{File: bs.Events[0].File, Event: without}}
		field := p
		out = append(out, negCase{check: CheckOptionalMissing, name: sc.Name, sc: sc, judge: func(_, r *ScenarioResult) []Finding {
			for _, d := range r.Deliveries {
				if d.Status == 0 || d.Status >= 500 && d.Outcome != OutcomeRetry {
					return []Finding{{ID: "connector-crashed", Level: LevelError, Location: x.rel(bs.Events[0].File),
						Message: fmt.Sprintf("an event without its optional %s got no proper answer (%s)", field, describeDelivery(d)),
						Hint:    "an optional field may be absent: check before using it"}}
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

// goldenOperations resolves the calls of a scenario's golden file to the
// vendors' operations, in the order first called.
func (x *execution) goldenOperations(sc *Scenario) []opRef {
	calls, err := replay.LoadGolden(sc.Expect.Golden)
	if err != nil {
		return nil
	}
	var ops []opRef
	for _, call := range calls {
		for _, vendor := range slices.Sorted(maps.Keys(x.c.Contracts)) {
			ct := x.c.Contracts[vendor]
			if !servesURL(ct, call.URL) {
				continue
			}
			if m, err := ct.Find(call.Method, call.URL); err == nil {
				if ref := (opRef{vendor, m.Operation.ID}); !slices.Contains(ops, ref) {
					ops = append(ops, ref)
				}
				break
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

func judgeErrorStatus(r *ScenarioResult, vendor, op string, code int) []Finding {
	loc := r.Scenario.File
	var out []Finding
	seen := map[string]bool{}
	add := func(f Finding) {
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
			add(Finding{ID: "permanent-error-retried", Level: LevelError, Location: loc,
				Message: fmt.Sprintf("%s answered %d and the connector called it %d times for one event", op, code, n),
				Hint:    fmt.Sprintf("%d will not change on a retry: return connectors.Permanent", code)})
		case retryable(code) && n < 2:
			add(Finding{ID: "retryable-error-not-retried", Level: LevelError, Location: loc,
				Message: fmt.Sprintf("%s answered %d and the connector did not call it again", op, code),
				Hint:    "retry 408, 429 and 5xx, with backoff and within a budget"})
		}
		if n > maxAttempts {
			add(Finding{ID: "retries-unbounded", Level: LevelError, Location: loc,
				Message: fmt.Sprintf("%s answered %d and the connector called it %d times for one event", op, code, n),
				Hint:    "bound retries by attempts and by a time budget"})
		}
		// A write retried must carry the same Idempotency-Key.
		distinct := slices.Compact(slices.Sorted(slices.Values(keys)))
		if len(keys) > 1 && (keys[0] == "" || len(distinct) > 1) {
			add(Finding{ID: "idempotency-key-changed", Level: LevelError, Location: loc,
				Message: fmt.Sprintf("%s was retried with Idempotency-Key values %q", op, keys),
				Hint:    "derive the key from the event and the action (connectors.IdempotencyKey), so a retry cannot act twice"})
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

// sameEffect compares the number of writes of a case (each call, whatever
// its Idempotency-Key) with the base's: a duplicate delivery must cause
// no call at all.
func sameEffect(base, r *ScenarioResult, how string) []Finding {
	count := func(r *ScenarioResult) int {
		n := 0
		for _, e := range r.Journal {
			if e.Method != http.MethodGet && e.Method != http.MethodHead {
				n++
			}
		}
		return n
	}
	if want, got := count(base), count(r); got != want {
		return []Finding{{ID: "duplicate-side-effect", Level: LevelError, Location: r.Scenario.File,
			Message: fmt.Sprintf("%s the connector made %d writes; delivered once, it makes %d", how, got, want),
			Hint:    "de-duplicate by event ID (the SDK's idempotency store) before acting"}}
	}
	return nil
}

// sameFinalState compares the last successful write to each vendor
// resource after reversed deliveries with the base's: an older event
// delivered late must not overwrite what a newer one wrote.
func sameFinalState(base, r *ScenarioResult) []Finding {
	last := func(r *ScenarioResult) map[string]string {
		out := map[string]string{}
		for i, e := range r.Journal {
			if e.Method == http.MethodGet || e.Method == http.MethodHead || e.Status >= 300 || e.Status == 0 {
				continue
			}
			out[e.Method+" "+r.Calls[i].URL] = r.Calls[i].Body
		}
		return out
	}
	want, got := last(base), last(r)
	var out []Finding
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			out = append(out, Finding{ID: "out-of-order-final-state", Level: LevelError, Location: r.Scenario.File,
				Message: fmt.Sprintf("with the events in reverse order, the last %s sent %s; in order it sends %s", k, got[k], want[k]),
				Hint:    "order events by their own time (occurred_at), and ignore one older than what was already applied"})
		}
	}
	return out
}

// sameWrites compares the successful writes of a case with the base's: a
// duplicate or out-of-order delivery must have the same effect.
func sameWrites(base, r *ScenarioResult, how string) []Finding {
	want, got := writes(base), writes(r)
	if slices.Equal(want, got) {
		return nil
	}
	return []Finding{{ID: "duplicate-side-effect", Level: LevelError, Location: r.Scenario.File,
		Message: fmt.Sprintf("%s the connector made %d successful writes; the scenario alone makes %d", how, len(got), len(want)),
		Hint:    "de-duplicate by event ID (the SDK's idempotency store), and send an Idempotency-Key on writes"}}
}

// refusedUnsigned checks that a delivery with a bad signature was refused
// before any call.
func refusedUnsigned(r *ScenarioResult, what, id string) []Finding {
	var out []Finding
	for _, d := range r.Deliveries {
		if d.Status != http.StatusUnauthorized && d.Status != http.StatusForbidden {
			out = append(out, Finding{ID: id, Level: LevelError, Location: r.Scenario.File,
				Message: fmt.Sprintf("a delivery %s was answered %d (%s)", what, d.Status, d.Outcome),
				Hint:    "verify the signature and its timestamp before anything else, and answer 401"})
			break
		}
	}
	if len(r.Journal) > 0 && len(out) == 0 {
		out = append(out, Finding{ID: id, Level: LevelError, Location: r.Scenario.File,
			Message: fmt.Sprintf("a delivery %s caused %d vendor calls", what, len(r.Journal))})
	}
	return out
}
