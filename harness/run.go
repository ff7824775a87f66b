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
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tetherkit/tether/connectors"
	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/harness/manifest"
	"github.com/tetherkit/tether/harness/report"
	"github.com/tetherkit/tether/replay"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/state"
)

// ScenarioResult is what one scenario showed.
type ScenarioResult struct {
	Scenario   *manifest.Scenario
	Deliveries []Delivery
	// Calls are the connector's calls to the vendors, in order, as the
	// golden file holds them.
	Calls []replay.Call
	// Journal holds the sandbox's entries for those calls, with their
	// answers and contract findings.
	Journal []sandbox.Entry
	// TokenCalls are the sandbox's entries for the connector's calls to
	// the vendors' authorization servers (token requests), in order.
	TokenCalls []sandbox.Entry
	// State is what the vendors with state hold at the end, by vendor;
	// nil when the sandbox keeps none.
	State       map[string]state.Document
	DeadLetters []connectors.DeadLetter
	Findings    []report.Finding
	// Logs are what the connector logged while the scenario ran.
	Logs string
	// Metrics are what the connector's SDK counted, when it serves them.
	Metrics []connectors.MetricsRow
	// GoldenUpdated is true when an update run rewrote the golden file.
	GoldenUpdated bool
	Took          time.Duration

	// credentials are the tenant's test credentials, by vendor, with
	// what the sandbox issued during the run (refresh tokens).
	credentials map[string]TestCredential
}

// Failed reports whether the result has an error finding.
func (r *ScenarioResult) Failed() bool {
	return slices.ContainsFunc(r.Findings, func(f report.Finding) bool { return f.Level == contracts.LevelError })
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
	At      time.Time
	Took    time.Duration
}

// tokenFor is the test bearer token the harness gives the connector for a
// vendor; the sandbox accepts it from that tenant only.
func tokenFor(tenant, vendor string) string { return "tether-test-" + tenant + "-" + vendor }

// signingKey is the test signing key for a connector's events, in the
// form its scheme takes.
func signingKey(scheme, connector string) string {
	sum := sha256.Sum256([]byte("tether test signing key for " + connector))
	if scheme == replay.SchemeStandardWebhooks {
		return "whsec_" + base64.StdEncoding.EncodeToString(sum[:24])
	}
	return "tether-test-signing-" + connector
}

// scenarioRun is a scenario to run: one of the connector's, or a case the
// negative suite derives from one, with how its outcome is judged and
// signed.
type scenarioRun struct {
	*manifest.Scenario
	// from is the connector whose files the scenario names (its
	// cassettes and golden file): an earlier release's, for its scenarios
	// replayed against this one; nil for the connector under test.
	from     *manifest.Connector
	accept   []string  // outcomes that are all right, instead of Expect.Outcome
	signWith string    // sign with this key instead of the connector's
	signedAt time.Time // sign as if at this time
}

// files is the connector that holds the scenario's files.
func (sc *scenarioRun) files(c *manifest.Connector) *manifest.Connector {
	if sc.from != nil {
		return sc.from
	}
	return c
}

func runScenario(ctx context.Context, c *manifest.Connector, sc *scenarioRun, start Starter, work string, o options) (*ScenarioResult, error) {
	began := time.Now()
	m := c.Manifest
	res := &ScenarioResult{Scenario: sc.Scenario}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}

	// The sandbox: every vendor, the scenario's cassettes and faults, and
	// the tenant's credentials with the manifest's scopes.
	spec := SandboxSpec{Vendors: slices.Sorted(maps.Keys(m.Vendors)), Cassettes: map[string][]Cassette{}, Tenant: sc.Tenant,
		Credentials: map[string]TestCredential{}, Seed: o.seed, State: sc.State, Stateless: map[string]bool{}}
	for name, v := range m.Vendors {
		if v.Stateless {
			spec.Stateless[name] = true
		}
	}
	if err := checkScenarioState(c, sc.Scenario); err != nil {
		return nil, err
	}
	from := sc.files(c)
	for vendor, files := range sc.Cassettes {
		for _, rel := range files {
			spec.Cassettes[vendor] = append(spec.Cassettes[vendor], Cassette{File: from.Path(rel), Cassette: from.Cassettes[rel]})
		}
	}
	secrets := map[string]string{}
	for _, name := range spec.Vendors {
		if c := m.Vendors[name].Credential; c != nil {
			tc := testCredential(sc.Tenant, name, *c, m.Scopes)
			spec.Credentials[name] = tc
			maps.Copy(secrets, tc.Values)
		}
	}
	if a, ok := o.target.(SandboxAddresser); ok {
		spec.Addr = a.SandboxAddr()
	}
	sb, err := o.sandboxes.Start(ctx, c, spec)
	if err != nil {
		return nil, err
	}
	defer sb.Close()
	if sc.Faults != nil {
		if err := sb.SetFaults(ctx, sc.Faults); err != nil {
			return nil, fmt.Errorf("%s: faults: %w", sc.File, err)
		}
	}

	res.credentials = spec.Credentials

	// OAuth2 vendors: the connector is told the token endpoint, and where
	// it holds a refresh token, the harness consents for it first.
	tokenURLs := map[string]string{}
	for _, name := range spec.Vendors {
		tc, ok := spec.Credentials[name]
		if !ok || !tc.IsOAuth2() {
			continue
		}
		az, ok := sb.(authorizer)
		if !ok {
			return nil, fmt.Errorf("vendor %s takes OAuth2, and the %s sandbox serves no authorization server", name, o.sandboxes.Name())
		}
		token, authorize, err := az.OAuth2Endpoints(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("vendor %s: %w", name, err)
		}
		tokenURLs[name] = token
		if tc.Grant == manifest.GrantAuthorizationCode {
			if authorize == "" {
				return nil, fmt.Errorf("vendor %s: %s says grant %s, and its contract declares no authorizationCode flow with an authorization URL", name, manifest.File, tc.Grant)
			}
			rt, err := consent(ctx, authorize, token, tc.value(tc.ClientID), tc.value(tc.ClientSecret), tc.Scopes)
			if err != nil {
				return nil, fmt.Errorf("vendor %s: %w", name, err)
			}
			tc.Values[tc.RefreshToken] = rt
			secrets[tc.RefreshToken] = rt
		}
	}

	// The signature: the manifest's, with a test key.
	signature := m.Events.Signature.Signature
	if signature.Scheme != "" {
		key := signingKey(signature.Scheme, m.Name)
		secrets[m.Events.Signature.SecretName] = key
		if sc.signWith != "" {
			key = sc.signWith
		}
		signature.Secret = key
	}

	// The connector, pointed at the sandbox.
	rc := &connectors.RunConfig{
		Vendors:   map[string]string{},
		Config:    sc.Config,
		Secrets:   secrets,
		TokenURLs: tokenURLs,
		StateDir:  filepath.Join(work, "state"),
	}
	for _, name := range spec.Vendors {
		u, err := sb.VendorURL(ctx, name)
		if err != nil {
			return nil, err
		}
		rc.Vendors[name] = u
	}
	rc.Listen = "127.0.0.1:0"
	if o.sandboxes.Name() != (inProcessSandboxes{}).Name() {
		rc.Listen = "0.0.0.0:0" // the sandbox delivers from elsewhere, such as its container
	}
	inst, err := start(ctx, rc, work)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			inst.Stop()
		}
	}()

	// The deliveries, all through the sandbox.
	events := make([]sandbox.WebhookEvent, len(sc.Events))
	for i, se := range sc.Events {
		h := se.Event.Headers.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("X-Tenant-ID", sc.Tenant)
		events[i] = sandbox.WebhookEvent{Name: se.Event.Name, Header: h, Body: string(se.Event.Body)}
	}
	entries, err := sb.Deliver(ctx, sandbox.Webhook{
		Vendor:     m.EventVendor(),
		Events:     events,
		Target:     sb.Reach(strings.TrimRight(inst.URL(), "/") + m.Run.Webhook),
		Signature:  signature,
		SignedAt:   sc.signedAt,
		Duplicates: sc.Deliver.Duplicates,
		Reorder:    sc.Deliver.Reorder,
		Retries:    sc.Deliver.Retries,
		Backoff:    sandbox.Duration(200 * time.Millisecond),
	})
	if err != nil {
		return nil, fmt.Errorf("deliver: %w", err)
	}
	res.Metrics = connectors.ReadMetrics(ctx, inst.URL())
	logs, stopErr := inst.Stop()
	stopped = true
	res.Logs = logs
	if stopErr != nil {
		f := newFinding(RuleConnectorStopFailed, at(sc.File), stopErr.Error())
		f.Check = CheckOutcome
		res.Findings = append(res.Findings, f)
	}
	for _, e := range entries {
		res.Deliveries = append(res.Deliveries, deliveryOf(e))
	}

	// What it called.
	journal, err := sb.Calls(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the sandbox's journal: %w", err)
	}
	// The journal holds placeholders for credentials; the tenant's test
	// tokens go back in, so that the golden files keep their own stable
	// redaction and the secrets check sees which vendor got which token.
	creds := spec.credentials()
	for i := range journal {
		journal[i] = sandbox.Reveal(journal[i], spec.Tenant, creds...)
		if tc, ok := spec.Credentials[journal[i].Vendor]; ok && tc.IsOAuth2() {
			journal[i].RequestHeader = stableTokens(journal[i].RequestHeader, tokenFor(spec.Tenant, journal[i].Vendor)+"-access-token")
		}
	}
	// Calls to the vendors' authorization servers are kept apart: how
	// often a connector gets a token is its own affair, so they are in
	// no golden file, and judged only where a credential is at stake.
	journal = slices.DeleteFunc(journal, func(e sandbox.Entry) bool {
		if e.Source == sandbox.SourceOAuth2 {
			res.TokenCalls = append(res.TokenCalls, e)
			return true
		}
		return false
	})
	res.Journal = journal
	red, err := credentialRedactor(m)
	if err != nil {
		return nil, err
	}
	if st, ok := sb.(stateful); ok {
		if res.State, err = st.State(ctx); err != nil {
			return nil, fmt.Errorf("read the sandbox's state: %w", err)
		}
		res.Findings = append(res.Findings, judgeState(c, sc.Scenario, res.State)...)
	}
	for _, e := range journal {
		res.Calls = append(res.Calls, goldenCall(c, red, e))
		for _, p := range e.Findings {
			f := report.Finding{Finding: p, Check: CheckOutboundCalls}
			f.Message = fmt.Sprintf("%s %s (%s): %s", e.Method, e.Path, e.Vendor, p.Message)
			f.Hint = "the connector's call, or the answer it got, breaks the vendor's contract"
			res.Findings = append(res.Findings, f)
		}
	}

	res.Findings = append(res.Findings, checkRetryAfter(sc, journal)...)
	res.Findings = append(res.Findings, checkCassettesUsed(sc, journal)...)

	letters, err := connectors.ReadDeadLetters(filepath.Join(rc.StateDir, connectors.DeadLetterFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		f := newFinding(RuleDeadLettersUnreadable, at(sc.File), err.Error())
		f.Check = CheckOutcome
		res.Findings = append(res.Findings, f)
	}
	res.DeadLetters = letters
	res.Findings = append(res.Findings, checkOutcomes(sc, res)...)
	if sc.Expect.Golden != "" {
		gf, updated, err := checkGolden(sc.files(c), sc, res.Calls, o.update)
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
func checkRetryAfter(sc *scenarioRun, entries []sandbox.Entry) []report.Finding {
	var out []report.Finding
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
				f := newFinding(RuleRetryAfterIgnored, at(sc.File),
					fmt.Sprintf("%s %s was answered %d with Retry-After: %s, and called again before that time had passed (journal #%d)", e.Method, e.Path, e.Status, v, next.Seq))
				f.Check = CheckRetryAfter
				out = append(out, f)
			}
			break
		}
	}
	return out
}

// checkCassettesUsed warns of a vendor whose cassettes answered no call:
// the scenario then runs on the contract's examples, not on what was
// recorded, which is rarely what its author meant.
func checkCassettesUsed(sc *scenarioRun, entries []sandbox.Entry) []report.Finding {
	var out []report.Finding
	for _, vendor := range slices.Sorted(maps.Keys(sc.Cassettes)) {
		used := slices.ContainsFunc(entries, func(e sandbox.Entry) bool { return e.Vendor == vendor && e.Source == sandbox.SourceCassette })
		if !used {
			f := newFinding(RuleCassetteUnused, at(sc.File), fmt.Sprintf("no call to %s was answered from its cassettes %s", vendor, strings.Join(sc.Cassettes[vendor], ", ")))
			f.Check = CheckCassettes
			out = append(out, f)
		}
	}
	return out
}

// deliveryOf reads the outcome of one delivery from the connector's answer.
func deliveryOf(e sandbox.Entry) Delivery {
	d := Delivery{Event: e.Event, Copy: e.Copy, Attempt: e.Attempt, Status: e.Status, Error: e.Error, At: e.Time, Took: e.Took}
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
		d.Outcome = manifest.OutcomeHandled
	case e.Status == http.StatusUnauthorized:
		d.Outcome = "unauthorized"
	case e.Status < 500 && e.Status != http.StatusConflict && e.Status != http.StatusTooManyRequests:
		d.Outcome = manifest.OutcomeRejected
	default:
		d.Outcome = manifest.OutcomeRetry
	}
	return d
}

// checkOutcomes compares each delivery's outcome with the expected one,
// and the dead letters with the events that must have become one.
func checkOutcomes(sc *scenarioRun, res *ScenarioResult) []report.Finding {
	var out []report.Finding
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
		if d.Copy > 1 && want != manifest.OutcomeRetry {
			expected = manifest.OutcomeDuplicate
		}
		if len(sc.accept) > 0 && d.Copy <= 1 {
			expected = strings.Join(sc.accept, " or ")
		}
		if d.Outcome != expected && (len(sc.accept) == 0 || d.Copy > 1 || !slices.Contains(sc.accept, d.Outcome)) {
			msg := fmt.Sprintf("delivery %d of %s (event %d) ended %s, want %s", d.Copy, d.Event, k[0]+1, describeDelivery(d), expected)
			f := newFinding(RuleOutcomeMismatch, at(sc.File), msg)
			f.Check = CheckOutcome
			out = append(out, f)
		}
		if d.EventID != "" && (d.Outcome == manifest.OutcomeDeadLettered || d.Outcome == manifest.OutcomeRejected) {
			settledIDs[d.EventID] = true
		}
	}
	lettered := map[string]bool{}
	for _, l := range res.DeadLetters {
		lettered[l.Event.ID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(settledIDs)) {
		if !lettered[id] {
			f := newFinding(RuleDeadLetterMissing, at(sc.File), fmt.Sprintf("event %s was answered as given up, but the dead-letter sink does not hold it", id))
			f.Check = CheckOutcome
			out = append(out, f)
		}
	}
	if want != manifest.OutcomeDeadLettered && want != manifest.OutcomeRejected && len(sc.accept) == 0 {
		for _, l := range res.DeadLetters {
			f := newFinding(RuleUnexpectedDeadLetter, at(sc.File), fmt.Sprintf("event %s was dead-lettered (%s): %s", l.Event.ID, l.Class, l.Error))
			f.Check = CheckOutcome
			out = append(out, f)
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

// issuedToken is the journal's placeholder for an access token the
// sandbox issued: registered credentials' placeholders name their tenant
// in parentheses after it, and Reveal has put those back already.
var issuedToken = regexp.MustCompile(regexp.QuoteMeta(sandbox.PlaceholderPrefix) + `[0-9a-f]{12}\b(?:[^(]|$)`)

// stableTokens replaces, in the Authorization header of h, the placeholder
// of an access token the sandbox issued (a new one each run) with stand,
// so that golden files hold the same value run after run: they record
// that the call carried the vendor's token, not which one.
func stableTokens(h http.Header, stand string) http.Header {
	v := h.Get("Authorization")
	if v == "" || !issuedToken.MatchString(v) {
		return h
	}
	h = h.Clone()
	h.Set("Authorization", issuedToken.ReplaceAllStringFunc(v, func(m string) string {
		return stand + strings.TrimPrefix(m, m[:len(sandbox.PlaceholderPrefix)+12])
	}))
	return h
}

// credentialRedactor is the default redaction, plus where the manifest's
// API keys go: a key in a header, a query parameter or a body field (such
// as PagerDuty Events' routing_key) is kept out of golden files as a
// token in Authorization is.
func credentialRedactor(m *manifest.Manifest) (*fixtures.Redactor, error) {
	var opts []fixtures.RedactOption
	for _, name := range slices.Sorted(maps.Keys(m.Vendors)) {
		c := m.Vendors[name].Credential
		if c == nil || c.Kind != manifest.KindAPIKey {
			continue
		}
		switch c.In {
		case "header":
			opts = append(opts, fixtures.RedactHeader(c.Name))
		case "query":
			opts = append(opts, fixtures.RedactQuery(c.Name))
		case "body":
			opts = append(opts, fixtures.RedactField(c.Name))
		}
	}
	if len(opts) == 0 {
		return fixtures.DefaultRedactor(), nil
	}
	return fixtures.NewRedactor(opts...)
}

// goldenCall is a journaled call as a golden file holds it: at the
// vendor's own URL, with credentials redacted by red.
func goldenCall(c *manifest.Connector, red *fixtures.Redactor, e sandbox.Entry) replay.Call {
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
	red.RedactRequest(&req)
	call := replay.Call{Method: req.Method, URL: req.URL, Body: req.Body}
	if len(req.Headers) > 0 {
		call.Headers = req.Headers
	}
	return call
}

// checkGolden compares the calls with the scenario's golden file, or
// rewrites it on update.
func checkGolden(c *manifest.Connector, sc *scenarioRun, calls []replay.Call, update bool) ([]report.Finding, bool, error) {
	ignore := sc.IgnoreOptions()
	if update {
		path := c.Path(sc.Expect.Golden)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, false, err
		}
		changed, err := replay.UpdateGolden(path, calls, ignore...)
		return nil, changed, err
	}
	want, ok := c.Golden[sc.Expect.Golden]
	if !ok {
		f := newFinding(RuleGoldenUnreadable, at(sc.Expect.Golden), sc.Expect.Golden+" is not among the connector's files")
		f.Check = CheckGolden
		return []report.Finding{f}, false, nil
	}
	var out []report.Finding
	for _, d := range replay.Compare(want, calls, ignore...) {
		f := newFinding(RuleGoldenMismatch, at(sc.Expect.Golden), d.String())
		f.Check = CheckGolden
		out = append(out, f)
	}
	return out, false, nil
}
