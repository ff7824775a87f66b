package harness

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/replay"
	"github.com/tetherkit/tether/sandbox"
)

// Option configures [Run] and [Test].
type Option func(*options)

type options struct {
	target   Target
	update   bool
	seed     uint64
	report   func(ScenarioResult)
	parallel int
	suites   []string
	// containerSandbox runs each scenario's sandbox in a container, of
	// an image holding sandboxBinary, compiled once per run.
	containerSandbox bool
	sandboxBinary    *onceFile
	// baselines are the releases the compatibility suite compares with,
	// newest first; none: the suite does not run.
	baselines []string
}

// Drive runs the connector with target: [InProcess], [Process] or
// [Container]. The default is [Process], the manifest's command.
func Drive(target Target) Option { return func(o *options) { o.target = target } }

// Update rewrites each scenario's golden file with the calls the connector
// makes now, instead of comparing them. A file is rewritten only when the
// calls differ from it.
func Update(update bool) Option { return func(o *options) { o.update = update } }

// Seed fixes the sandbox's draws (synthesised answers, fault
// probabilities, reordered deliveries). The default is 1.
func Seed(seed uint64) Option { return func(o *options) { o.seed = seed } }

// OnScenario calls f with each scenario's result as it finishes, for
// progress output.
func OnScenario(f func(ScenarioResult)) Option { return func(o *options) { o.report = f } }

func configure(opts []Option) options {
	o := options{seed: 1, parallel: 4, suites: AllSuites}
	for _, opt := range opts {
		opt(&o)
	}
	if o.target == nil {
		o.target = Process()
	}
	return o
}

// ScenarioResult is what one scenario showed.
type ScenarioResult struct {
	Scenario   *Scenario
	Deliveries []Delivery
	// Calls are the connector's calls to the vendors, in order, as the
	// golden file holds them.
	Calls []replay.Call
	// Journal holds the sandbox's entries for those calls, with their
	// answers and contract findings.
	Journal     []sandbox.Entry
	DeadLetters []connectors.DeadLetter
	Findings    []Finding
	// Logs are what the connector logged while the scenario ran.
	Logs string
	// Metrics are what the connector's SDK counted, when it serves them.
	Metrics []connectors.MetricsRow
	// GoldenUpdated is true when an update run rewrote the golden file.
	GoldenUpdated bool
	Took          time.Duration
}

// Failed reports whether the result has an error finding.
func (r *ScenarioResult) Failed() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Level == LevelError })
}

// Delivery is one delivery of an event and how the connector answered.
type Delivery struct {
	Event   string // the event's name
	EventID string // as the connector answered it, when it did
	Copy    int    // 1 for the first delivery of the event, 2 for a duplicate...
	Attempt int    // 1, or more for the sender's retries
	Status  int    // 0 when there was no answer
	Outcome string // from the answer's body, else from its status
	Error   string // why there was no answer
	Took    time.Duration
}

// tokenFor is the test bearer token the harness gives the connector for a
// vendor; the sandbox accepts it from that tenant only.
func tokenFor(tenant, vendor string) string { return "tether-test-" + tenant + "-" + vendor }

// signingKey is the test signing key for a connector's events, in the
// form its scheme takes.
func signingKey(scheme, connector string) string {
	sum := sha256.Sum256([]byte("tether test signing key for " + connector))
	if scheme == SchemeStandardWebhooks {
		return "whsec_" + base64.StdEncoding.EncodeToString(sum[:24])
	}
	return "tether-test-signing-" + connector
}

func runScenario(ctx context.Context, c *Connector, sc *Scenario, start starter, work string, o options) (*ScenarioResult, error) {
	began := time.Now()
	m := c.Manifest
	res := &ScenarioResult{Scenario: sc}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}

	// The sandbox: every vendor, the scenario's cassettes and faults, and
	// the tenant's credentials with the manifest's scopes.
	spec := sandboxSpec{names: slices.Sorted(maps.Keys(m.Vendors)), cassettes: sc.Cassettes, tenant: sc.Tenant,
		tokens: map[string]string{}, scopes: m.Scopes, seed: o.seed}
	secrets := map[string]string{}
	for _, name := range spec.names {
		if secret := m.Vendors[name].Secret; secret != "" {
			spec.tokens[name] = tokenFor(sc.Tenant, name)
			secrets[secret] = spec.tokens[name]
		}
	}
	if a, ok := o.target.(sandboxAddresser); ok {
		spec.addr = a.sandboxAddr()
	}
	sb, err := startSandbox(ctx, c, spec, o)
	if err != nil {
		return nil, err
	}
	defer sb.close()
	if sc.Faults != nil {
		if err := sb.setFaults(ctx, sc.Faults); err != nil {
			return nil, fmt.Errorf("%s: faults: %w", sc.File, err)
		}
	}

	sig := m.Events.Signature
	var signature sandbox.Signature
	if sig.Scheme != "" {
		key := signingKey(sig.Scheme, m.Name)
		secrets[sig.Secret] = key
		if sc.signWith != "" {
			key = sc.signWith
		}
		signature = sandbox.Signature{Header: sig.Header, Prefix: sig.Prefix, Secret: key}
		switch sig.Scheme {
		case SchemeHMAC:
			signature.Style = sandbox.SignHex
		case SchemeTimestampedHMAC:
			signature.Style = sandbox.SignTimestamped
		case SchemeStandardWebhooks:
			signature.Style = sandbox.SignStandard
		}
	}

	// The connector, pointed at the sandbox.
	rc := &connectors.RunConfig{
		Vendors:  map[string]string{},
		Config:   sc.Config,
		Secrets:  secrets,
		StateDir: filepath.Join(work, "state"),
	}
	for _, name := range spec.names {
		u, err := sb.vendorURL(ctx, name)
		if err != nil {
			return nil, err
		}
		rc.Vendors[name] = u
	}
	rc.Listen = "127.0.0.1:0"
	if o.containerSandbox {
		rc.Listen = "0.0.0.0:0" // the sandbox delivers from its container
	}
	inst, err := start(ctx, rc, work)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			inst.stop()
		}
	}()

	// The deliveries.
	events := make([]sandbox.WebhookEvent, len(sc.Events))
	for i, se := range sc.Events {
		h := se.Event.Headers.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("X-Tenant-ID", sc.Tenant)
		events[i] = sandbox.WebhookEvent{Name: se.Event.Name, Header: h, Body: string(se.Event.Body)}
	}
	local := strings.TrimRight(inst.url(), "/") + m.Run.Webhook
	target := sb.reach(local)
	var entries []sandbox.Entry
	if !sc.signedAt.IsZero() {
		// Sent from this process, which reaches the connector directly.
		entries, err = deliverSignedAt(ctx, m.EventVendor(), local, events, signature, sc.signedAt)
	} else {
		entries, err = sb.deliver(ctx, sandbox.Webhook{
			Vendor:     m.EventVendor(),
			Events:     events,
			Target:     target,
			Signature:  signature,
			Duplicates: sc.Deliver.Duplicates,
			Reorder:    sc.Deliver.Reorder,
			Retries:    sc.Deliver.Retries,
			Backoff:    sandbox.Duration(200 * time.Millisecond),
		})
	}
	if err != nil {
		return nil, fmt.Errorf("deliver: %w", err)
	}
	res.Metrics = inst.metrics()
	logs, stopErr := inst.stop()
	stopped = true
	res.Logs = logs
	if stopErr != nil {
		res.Findings = append(res.Findings, Finding{ID: "connector-stop-failed", Level: LevelError, Location: sc.File, Check: CheckOutcome,
			Message: stopErr.Error(), Hint: "a connector stops cleanly on SIGTERM, finishing the deliveries in flight"})
	}
	for _, e := range entries {
		res.Deliveries = append(res.Deliveries, deliveryOf(e))
	}

	// What it called.
	journal, err := sb.calls(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the sandbox's journal: %w", err)
	}
	res.Journal = journal
	for _, e := range journal {
		res.Calls = append(res.Calls, goldenCall(c, e))
		for _, p := range e.Findings {
			res.Findings = append(res.Findings, Finding{
				ID: p.Rule, Level: p.Level.String(), Location: p.Location(), Check: CheckOutboundCalls,
				Message: fmt.Sprintf("%s %s (%s): %s", e.Method, e.Path, e.Vendor, p.Message),
				Hint:    "the connector's call, or the answer it got, breaks the vendor's contract",
			})
		}
	}

	res.Findings = append(res.Findings, checkRetryAfter(journal)...)
	res.Findings = append(res.Findings, checkCassettesUsed(sc, journal)...)

	letters, err := connectors.ReadDeadLetters(filepath.Join(rc.StateDir, connectors.DeadLetterFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		res.Findings = append(res.Findings, Finding{ID: "dead-letters-unreadable", Level: LevelError, Location: sc.File, Check: CheckOutcome, Message: err.Error()})
	}
	res.DeadLetters = letters
	res.Findings = append(res.Findings, checkOutcomes(sc, res)...)
	if sc.Expect.Golden != "" {
		gf, updated, err := checkGolden(sc, res.Calls, o.update)
		if err != nil {
			return nil, err
		}
		res.Findings = append(res.Findings, gf...)
		res.GoldenUpdated = updated
	}
	res.Took = time.Since(began)
	return res, nil
}

// retryAfterSlack is how much sooner than Retry-After a retry may come
// before it counts as ignoring it: clocks and timers are not exact.
const retryAfterSlack = 50 * time.Millisecond

// checkRetryAfter finds calls made again sooner than the answer before
// them asked with Retry-After.
func checkRetryAfter(entries []sandbox.Entry) []Finding {
	var out []Finding
	for i, e := range entries {
		v := e.ResponseHeader.Get("Retry-After")
		if v == "" || e.Status < 400 {
			continue
		}
		answered := e.Time.Add(e.Took)
		wait, ok := connectors.ParseRetryAfter(v, answered)
		if !ok {
			continue
		}
		for _, next := range entries[i+1:] {
			if next.Vendor != e.Vendor || next.Operation != e.Operation {
				continue
			}
			if gap := next.Time.Sub(answered); gap < wait-retryAfterSlack {
				out = append(out, Finding{ID: "retry-after-ignored", Level: LevelError, Check: CheckRetryAfter,
					Location: fmt.Sprintf("journal #%d", next.Seq),
					Message:  fmt.Sprintf("%s %s was answered %d with Retry-After: %s, and called again before that time had passed", e.Method, e.Path, e.Status, v),
					Hint:     "wait at least as long as Retry-After before calling the vendor again"})
			}
			break
		}
	}
	return out
}

// checkCassettesUsed warns of a vendor whose cassettes answered no call:
// the scenario then runs on the contract's examples, not on what was
// recorded, which is rarely what its author meant.
func checkCassettesUsed(sc *Scenario, entries []sandbox.Entry) []Finding {
	var out []Finding
	for _, vendor := range slices.Sorted(maps.Keys(sc.Cassettes)) {
		used := slices.ContainsFunc(entries, func(e sandbox.Entry) bool { return e.Vendor == vendor && e.Source == sandbox.SourceCassette })
		if !used {
			out = append(out, Finding{ID: "cassette-unused", Level: LevelWarning, Location: sc.File, Check: CheckCassettes,
				Message: fmt.Sprintf("no call to %s was answered from its cassettes %s", vendor, strings.Join(sc.Cassettes[vendor], ", ")),
				Hint:    "a recorded interaction answers only a call with the same method, path, query and body; check what the connector sent in the golden file"})
		}
	}
	return out
}

// deliverSignedAt delivers events as the sandbox does, but signed as if at
// the time at, for a signature whose timestamp is out of date.
func deliverSignedAt(ctx context.Context, vendor, target string, events []sandbox.WebhookEvent, sig sandbox.Signature, at time.Time) ([]sandbox.Entry, error) {
	clock := replay.SignedAt(func() time.Time { return at })
	var signer replay.Signer
	switch sig.Style {
	case sandbox.SignTimestamped:
		signer = replay.TimestampedHMAC(sig.Header, sig.Secret, clock)
	case sandbox.SignStandard:
		s, err := replay.StandardWebhooks(sig.Secret, clock)
		if err != nil {
			return nil, err
		}
		signer = s
	default:
		return nil, fmt.Errorf("signature style %q carries no time", sig.Style)
	}
	evs := make([]replay.Event, len(events))
	for i, e := range events {
		evs[i] = replay.Event{Name: e.Name, Headers: e.Header, Body: []byte(e.Body)}
	}
	ds, err := replay.Deliver(ctx, replay.Endpoint(target), evs, replay.SignWith(signer))
	var out []sandbox.Entry
	for _, d := range ds {
		e := sandbox.Entry{Kind: sandbox.KindDelivery, Vendor: vendor, Event: d.Name, Copy: d.Copy, Attempt: d.Attempt,
			Status: d.Status, ResponseBody: string(d.Answer), Took: d.Took, Time: d.Sent}
		if d.Err != nil {
			e.Error = d.Err.Error()
		}
		out = append(out, e)
	}
	return out, err
}

// deliveryOf reads the outcome of one delivery from the connector's answer.
func deliveryOf(e sandbox.Entry) Delivery {
	d := Delivery{Event: e.Event, Copy: e.Copy, Attempt: e.Attempt, Status: e.Status, Error: e.Error, Took: e.Took}
	var a struct {
		Outcome string `json:"outcome"`
		EventID string `json:"event_id"`
	}
	if json.Unmarshal([]byte(e.ResponseBody), &a) == nil && a.Outcome != "" {
		d.Outcome, d.EventID = a.Outcome, a.EventID
		return d
	}
	switch {
	case e.Status == 0:
		d.Outcome = "no-answer"
	case e.Status < 300:
		d.Outcome = OutcomeHandled
	case e.Status == http.StatusUnauthorized:
		d.Outcome = "unauthorized"
	case e.Status < 500 && e.Status != http.StatusConflict && e.Status != http.StatusTooManyRequests:
		d.Outcome = OutcomeRejected
	default:
		d.Outcome = OutcomeRetry
	}
	return d
}

// checkOutcomes compares each delivery's outcome with the expected one,
// and the dead letters with the events that must have become one.
func checkOutcomes(sc *Scenario, res *ScenarioResult) []Finding {
	var out []Finding
	want := sc.Expect.Outcome
	// The last attempt of each copy is the one that counts.
	last := map[[2]int]Delivery{}
	var order [][2]int
	for i, d := range res.Deliveries {
		k := [2]int{eventIndex(res.Deliveries, i), d.Copy}
		if _, seen := last[k]; !seen {
			order = append(order, k)
		}
		last[k] = d
	}
	settledIDs := map[string]bool{}
	for _, k := range order {
		d := last[k]
		expected := want
		if d.Copy > 1 && want != OutcomeRetry {
			expected = OutcomeDuplicate
		}
		if len(sc.accept) > 0 && d.Copy <= 1 {
			expected = strings.Join(sc.accept, " or ")
		}
		if d.Outcome != expected && (len(sc.accept) == 0 || d.Copy > 1 || !slices.Contains(sc.accept, d.Outcome)) {
			msg := fmt.Sprintf("delivery %d of %s (event %d) ended %s, want %s", d.Copy, d.Event, k[0]+1, describeDelivery(d), expected)
			out = append(out, Finding{ID: "outcome-mismatch", Level: LevelError, Location: sc.File, Check: CheckOutcome, Message: msg,
				Hint: "see the connector's log lines for this event"})
		}
		if d.EventID != "" && (d.Outcome == OutcomeDeadLettered || d.Outcome == OutcomeRejected) {
			settledIDs[d.EventID] = true
		}
	}
	lettered := map[string]bool{}
	for _, l := range res.DeadLetters {
		lettered[l.Event.ID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(settledIDs)) {
		if !lettered[id] {
			out = append(out, Finding{ID: "dead-letter-missing", Level: LevelError, Location: sc.File, Check: CheckOutcome,
				Message: fmt.Sprintf("event %s was answered as given up, but the dead-letter sink does not hold it", id),
				Hint:    "an event the connector gives up on must be kept, with its error, for a person to replay"})
		}
	}
	if want != OutcomeDeadLettered && want != OutcomeRejected && len(sc.accept) == 0 {
		for _, l := range res.DeadLetters {
			out = append(out, Finding{ID: "unexpected-dead-letter", Level: LevelError, Location: sc.File, Check: CheckOutcome,
				Message: fmt.Sprintf("event %s was dead-lettered (%s): %s", l.Event.ID, l.Class, l.Error)})
		}
	}
	return out
}

// eventIndex is the position of delivery i's event: deliveries of one
// event (copies, retries) come together, so a new event starts where the
// copy goes back to 1 on a first attempt.
func eventIndex(ds []Delivery, i int) int {
	n := -1
	for j := 0; j <= i; j++ {
		if ds[j].Copy <= 1 && ds[j].Attempt <= 1 {
			n++
		}
	}
	return n
}

func describeDelivery(d Delivery) string {
	switch {
	case d.Error != "":
		return "with no answer (" + d.Error + ")"
	case d.Status != 0:
		return fmt.Sprintf("%s (status %d)", d.Outcome, d.Status)
	}
	return d.Outcome
}

// goldenHeaders are the headers a golden call keeps: the ones a vendor
// acts on. The rest (correlation, trace, user agent) change run to run.
var goldenHeaders = []string{"Authorization", "Content-Type", "Idempotency-Key"}

// goldenCall is a journaled call as a golden file holds it: at the
// vendor's own URL, with credentials redacted.
func goldenCall(c *Connector, e sandbox.Entry) replay.Call {
	base := "https://" + e.Vendor + ".invalid"
	if ct := c.Contracts[e.Vendor]; ct != nil {
		if srv := ct.Servers(); len(srv) > 0 {
			if u, err := url.Parse(srv[0].Resolved); err == nil && u.Host != "" {
				base = u.Scheme + "://" + u.Host
			}
		}
	}
	u := base + e.Path
	if e.Query != "" {
		u += "?" + e.Query
	}
	req := fixtures.Request{Method: e.Method, URL: u, Headers: http.Header{}, Body: e.RequestBody}
	for _, name := range goldenHeaders {
		if vs := e.RequestHeader.Values(name); len(vs) > 0 {
			req.Headers[name] = slices.Clone(vs)
		}
	}
	fixtures.DefaultRedactor().RedactRequest(&req)
	call := replay.Call{Method: req.Method, URL: req.URL, Body: req.Body}
	if len(req.Headers) > 0 {
		call.Headers = req.Headers
	}
	return call
}

// checkGolden compares the calls with the scenario's golden file, or
// rewrites it on update.
func checkGolden(sc *Scenario, calls []replay.Call, update bool) ([]Finding, bool, error) {
	ignore := sc.ignoreOptions()
	if update {
		if err := os.MkdirAll(filepath.Dir(sc.Expect.Golden), 0o755); err != nil {
			return nil, false, err
		}
		changed, err := replay.UpdateGolden(sc.Expect.Golden, calls, ignore...)
		return nil, changed, err
	}
	want, err := replay.LoadGolden(sc.Expect.Golden)
	if err != nil {
		return []Finding{{ID: "golden-unreadable", Level: LevelError, Location: sc.Expect.Golden, Check: CheckGolden, Message: err.Error(),
			Hint: "run with -update to write it"}}, false, nil
	}
	var out []Finding
	for _, d := range replay.Compare(want, calls, ignore...) {
		out = append(out, Finding{ID: "golden-mismatch", Level: LevelError, Location: sc.Expect.Golden, Check: CheckGolden, Message: d.String(),
			Hint: "if the change is intended, run with -update and review the golden file's diff"})
	}
	return out, false, nil
}
