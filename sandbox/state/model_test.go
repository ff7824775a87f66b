package state

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
)

// registry loads each contract once per test binary: the corpus's largest
// take seconds to load.
var registry = contracts.NewRegistry()

func load(tb testing.TB, path string) *contracts.Contract {
	tb.Helper()
	c, err := registry.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// corpus returns the path of a corpus file, or skips when TETHER_CORPUS is
// unset.
func corpus(tb testing.TB, rel string) string {
	tb.Helper()
	dir := os.Getenv("TETHER_CORPUS")
	if dir == "" {
		tb.Skip("TETHER_CORPUS is not set; it names the corpus of real vendor material (.ci/run sets it)")
	}
	return filepath.Join(dir, rel)
}

func infer(tb testing.TB, path string, opts ...Option) *Model {
	tb.Helper()
	m, err := Infer(load(tb, path), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func resource(tb testing.TB, m *Model, name string) *Resource {
	tb.Helper()
	r := m.Resource(name)
	if r == nil {
		var names []string
		for _, r := range m.Resources {
			names = append(names, r.Name)
		}
		tb.Fatalf("no resource %s; the model has %s", name, strings.Join(names, ", "))
	}
	return r
}

// kinds lists a resource's operations as "kind operationId".
func kinds(r *Resource) []string {
	var out []string
	for _, o := range r.Ops {
		k := string(o.Kind)
		if o.Kind == Action {
			k += " " + o.Action
		}
		out = append(out, k+" "+o.OperationID)
	}
	return out
}

func wantOps(t *testing.T, r *Resource, want ...string) {
	t.Helper()
	got := kinds(r)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("resource %s: no operation %q among %q", r.Name, w, got)
		}
	}
}

// wantIDs checks that a generator makes n distinct ids that all match re.
func wantIDs(t *testing.T, s IDShape, re string, n int) {
	t.Helper()
	g := s.Generator(7)
	rx := regexp.MustCompile(re)
	seen := map[any]bool{}
	for range n {
		v := g.Next()
		str, ok := v.(string)
		if !ok {
			t.Fatalf("generated %v (%T), want a string matching %s", v, v, re)
		}
		if !rx.MatchString(str) {
			t.Fatalf("generated %q, which does not match %s (shape %s)", str, re, s)
		}
		if seen[v] {
			t.Fatalf("generated %q twice", str)
		}
		seen[v] = true
	}
}

func TestInferExampleContracts(t *testing.T) {
	m := infer(t, "../../connectors/escalate/contracts/incident.openapi.yaml")
	inc := resource(t, m, "incidents")
	wantOps(t, inc, "create createIncident", "read getIncident")
	if inc.IDParam != "incidentId" || inc.IDField != "id" || inc.ID.Pattern != "^Q[A-Z0-9]{10}$" {
		t.Errorf("incidents: id param %q field %q shape %s; want incidentId, id, the schema's pattern", inc.IDParam, inc.IDField, inc.ID)
	}
	if inc.Idempotency != "Idempotency-Key" {
		t.Errorf("incidents: idempotency header %q, want the declared Idempotency-Key", inc.Idempotency)
	}
	wantIDs(t, inc.ID, `^Q[A-Z0-9]{10}$`, 50)

	m = infer(t, "../../connectors/dealnotify/contracts/crm.openapi.yaml")
	deals := resource(t, m, "deals")
	wantOps(t, deals, "list listDeals", "read getDeal", "update updateDeal")
	p := deals.Op(List).Pagination
	if p == nil || p.Style != NextCursor || p.CursorParam != "cursor" || p.NextField != "next_cursor" || p.LimitParam != "limit" || p.ItemsField != "data" {
		t.Errorf("deals list pages as %+v; want next-cursor with cursor, next_cursor, limit, data", p)
	}
	if deals.Idempotency != "" {
		t.Errorf("deals: idempotency %q, but the contract declares none", deals.Idempotency)
	}

	m = infer(t, "../../connectors/escalate/contracts/helpdesk.openapi.yaml")
	tickets := resource(t, m, "tickets")
	if tickets.Collection != "" || tickets.Item != "/tickets/{ticketId}" {
		t.Errorf("tickets: collection %q item %q; the contract has only the item path", tickets.Collection, tickets.Item)
	}
	// The chat contracts are RPC-style: no resource, and each method says why.
	m = infer(t, "../../connectors/dealnotify/contracts/chat.openapi.yaml")
	if len(m.Resources) != 0 || len(m.Notes) == 0 {
		t.Errorf("chat: %d resources and %d notes; an RPC-style API has no resources, and says why for each method", len(m.Resources), len(m.Notes))
	}
}

func TestInferSubResourcesAndActions(t *testing.T) {
	m := infer(t, "testdata/incidents_notes.yaml")
	inc := resource(t, m, "incidents")
	wantOps(t, inc, "list listIncidents", "create createIncident", "read getIncident", "update updateIncident", "action resolve resolveIncident")
	if p := inc.Op(List).Pagination; p.Style != Offset || p.MoreField != "more" || p.ItemsField != "incidents" {
		t.Errorf("incidents list pages as %+v; want offset with more, items in incidents", p)
	}
	if inc.ID.Prefix != "" || inc.ID.Alphabet != UpperAlnum || inc.ID.Length != 7 || !strings.Contains(inc.ID.Source, "examples") {
		t.Errorf("incidents: id shape %s from %s; want 7 upper-alnum characters from the create's example", inc.ID, inc.ID.Source)
	}
	wantIDs(t, inc.ID, `^[A-Z0-9]{7}$`, 100)
	notes := resource(t, m, "notes")
	if notes.Parent != "incidents" || !slices.Equal(notes.Keys, []string{"id"}) || notes.Item != "" {
		t.Errorf("notes: parent %q keys %q item %q; want a sub-collection of incidents keyed by id", notes.Parent, notes.Keys, notes.Item)
	}
	wantOps(t, notes, "list listNotes", "create createNote")
	if notes.IDField != "uid" || notes.ID.Format != "uuid" {
		t.Errorf("notes: id field %q shape %s; want uid, a uuid", notes.IDField, notes.ID)
	}
	wantIDs(t, notes.ID, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, 20)
	if p := notes.Op(List).Pagination; p.Style != PageToken || p.NextField != "next_page_token" {
		t.Errorf("notes list pages as %+v; want page-token", p)
	}
	if m.Resource("status") != nil || len(m.Notes) != 2 || m.Notes[0].OperationID != "getStatus" || m.Notes[1].OperationID != "refreshStatus" {
		t.Errorf("notes %v; want two, saying /status and /status/refresh are no collections", m.Notes)
	}
	accounted(t, load(t, "testdata/incidents_notes.yaml"), m)
}

// accounted checks that every operation of the contract is in a resource
// or in a note, never lost.
func accounted(t *testing.T, c *contracts.Contract, m *Model) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range m.Resources {
		for _, o := range r.Ops {
			seen[o.OperationID] = true
		}
	}
	for _, n := range m.Notes {
		seen[n.OperationID] = true
	}
	for _, op := range c.Operations() {
		if !seen[op.ID] {
			t.Errorf("%s: operation %s (%s %s) is in no resource and no note", c.File(), op.ID, op.Method, op.Path)
		}
	}
}

func TestInferStripe(t *testing.T) {
	spec := corpus(t, "specs/stripe-spec3-2023-08-16.yaml")
	data, err := os.ReadFile(corpus(t, "specs/stripe-fixtures3-2023-08-16.json"))
	if err != nil {
		t.Fatal(err)
	}
	samples, err := SamplesFromJSON("stripe-fixtures3-2023-08-16.json", data)
	if err != nil {
		t.Fatal(err)
	}
	plain := infer(t, spec)
	if c := resource(t, plain, "customers"); c.ID.Prefix != "" {
		t.Errorf("customers: prefix %q without samples; the contract shows none", c.ID.Prefix)
	}
	m := infer(t, spec, WithSamples(samples...))
	c := resource(t, m, "customers")
	wantOps(t, c, "create PostCustomers", "read GetCustomersCustomer", "list GetCustomers",
		"update PostCustomersCustomer", "delete DeleteCustomersCustomer", "action search GetCustomersSearch")
	if c.IDField != "id" || c.Schema != "#/components/schemas/customer" {
		t.Errorf("customers: id field %q schema %q; want id of #/components/schemas/customer", c.IDField, c.Schema)
	}
	if c.ID.Prefix != "cus_" || c.ID.Alphabet != Alnum || c.ID.Length != 14 {
		t.Errorf("customers: id shape %s (from %s); want cus_ and 14 alnum, as the fixtures show", c.ID, c.ID.Source)
	}
	wantIDs(t, c.ID, `^cus_[A-Za-z0-9]{14}$`, 200)
	p := c.Op(List).Pagination
	if p.Style != Cursor || p.CursorParam != "starting_after" || p.BeforeParam != "ending_before" || p.MoreField != "has_more" || p.LimitParam != "limit" || p.ItemsField != "data" {
		t.Errorf("customers list pages as %+v; want cursor starting_after/ending_before/has_more/limit over data", p)
	}
	// Stripe's contract declares no idempotency header, though its clients send one.
	if c.Idempotency != "" {
		t.Errorf("customers: idempotency %q; Stripe's contract declares none", c.Idempotency)
	}
	src := resource(t, m, "customers/sources")
	if src.Parent != "customers" || !slices.Equal(src.Keys, []string{"customer"}) {
		t.Errorf("customers/sources: parent %q keys %q; want customers, keyed by customer", src.Parent, src.Keys)
	}
	// Another resource the fixtures decide, told apart by its object constant.
	if ch := resource(t, m, "charges"); ch.ID.Prefix != "ch_" {
		t.Errorf("charges: id shape %s (from %s); want the ch_ prefix of the fixtures", ch.ID, ch.ID.Source)
	}
}

func TestInferGitHub(t *testing.T) {
	m := infer(t, corpus(t, "specs/github-api.github.com-v0.0.6.json"))
	is := resource(t, m, "repos/issues")
	wantOps(t, is, "create issues/create", "read issues/get", "list issues/list-for-repo", "update issues/update")
	if !slices.Equal(is.Keys, []string{"owner", "repo"}) || is.IDParam != "issue_number" || is.IDField != "number" || is.ID.Type != "integer" {
		t.Errorf("repos/issues: keys %q id param %q field %q type %q; want owner, repo; issue_number; number; integer", is.Keys, is.IDParam, is.IDField, is.ID.Type)
	}
	if is.Schema != "#/components/schemas/issue" {
		t.Errorf("repos/issues: schema %q; want the read's #/components/schemas/issue", is.Schema)
	}
	p := is.Op(List).Pagination
	if p.Style != Link || p.CursorParam != "page" || p.LimitParam != "per_page" || !strings.EqualFold(p.LinkHeader, "link") {
		t.Errorf("repos/issues list pages as %+v; want link with page, per_page", p)
	}
	g := is.ID.Generator(1)
	a, b := g.Next(), g.Next()
	if ai, ok := a.(int64); !ok || b != ai+1 || is.ID.Seen == 0 || ai <= is.ID.Seen {
		t.Errorf("issue numbers %v then %v; want consecutive integers above %d, the largest of the contract's examples", a, b, is.ID.Seen)
	}
}

func TestInferTwilio(t *testing.T) {
	m := infer(t, corpus(t, "specs/twilio-api-v2010.json"))
	calls := resource(t, m, "Calls")
	if calls.Suffix != ".json" || calls.IDParam != "Sid" || calls.IDField != "sid" || calls.Parent != "Accounts" || !slices.Equal(calls.Keys, []string{"AccountSid"}) {
		t.Errorf("Calls: suffix %q id param %q field %q parent %q keys %q; want .json, Sid, sid, Accounts, AccountSid", calls.Suffix, calls.IDParam, calls.IDField, calls.Parent, calls.Keys)
	}
	wantOps(t, calls, "create CreateCall", "read FetchCall", "list ListCall", "update UpdateCall", "delete DeleteCall")
	wantIDs(t, calls.ID, `^CA[0-9a-fA-F]{32}$`, 50)
	if p := calls.Op(List).Pagination; p.Style != NextURL || p.NextField != "next_page_uri" || p.ItemsField != "calls" {
		t.Errorf("Calls list pages as %+v; want next-url next_page_uri over calls", p)
	}
	m = infer(t, corpus(t, "specs/twilio-messaging-v1.yaml"))
	if len(m.Resources) == 0 {
		t.Error("Twilio Messaging: no resources")
	}
}

// TestInferCorpus infers every OpenAPI contract of the corpus: inference
// never fails nor panics, every operation is placed or noted, and the
// resource counts and what could not be inferred are logged.
func TestInferCorpus(t *testing.T) {
	dir := corpus(t, "specs")
	if testing.Short() {
		t.Skip("-short: loading every corpus contract under the race detector takes minutes; the plain pass runs it")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	inferred := 0
	for _, f := range files {
		if !strings.HasSuffix(f, ".json") && !strings.HasSuffix(f, ".yaml") || strings.Contains(f, "fixtures") {
			continue
		}
		c, err := registry.Load(f)
		if err != nil {
			t.Logf("%s: not loaded, not inferred: %v", filepath.Base(f), firstLine(err))
			continue
		}
		m, err := Infer(c)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		inferred++
		accounted(t, c, m)
		ops := 0
		for _, r := range m.Resources {
			ops += len(r.Ops)
		}
		t.Logf("%s: %d resources over %d of %d operations; %d not inferred", filepath.Base(f), len(m.Resources), ops, len(c.Operations()), len(m.Notes))
		for _, n := range m.Notes {
			t.Logf("  %s", n)
		}
		if len(m.Resources) == 0 && !strings.Contains(f, "slack") {
			t.Errorf("%s: no resources", filepath.Base(f))
		}
	}
	if inferred < 6 {
		t.Errorf("inferred %d corpus contracts; the corpus has at least 6 OpenAPI ones", inferred)
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// BenchmarkInferStripe infers the model of the corpus's largest contract.
//
//	TETHER_CORPUS=../shared/corpus go test ./sandbox/state -run '^$' -bench InferStripe
func BenchmarkInferStripe(b *testing.B) {
	c := load(b, corpus(b, "specs/stripe-spec3-2023-08-16.yaml"))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Infer(c); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSamplesFromJSON(t *testing.T) {
	got, err := SamplesFromJSON("f.json", []byte(`{"resources": {"customer": {"id": "cus_1", "object": "customer", "address": {"city": "Oslo"}}}, "list": [{"id": 7}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, s := range got {
		where = append(where, s.Source)
	}
	want := []string{"f.json at $", "f.json at $.list[0]", "f.json at $.resources", "f.json at $.resources.customer", "f.json at $.resources.customer.address"}
	if !slices.Equal(where, want) {
		t.Errorf("samples at %q; want every object, at %q", where, want)
	}
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	got, err = SamplesFromJSON("deep.json", []byte(deep))
	if err != nil || len(got) != 65 {
		t.Errorf("%d samples, %v, from 100 nested objects; want the first 65 levels", len(got), err)
	}
	if _, err := SamplesFromJSON("bad.json", []byte(`{"id": `)); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("error %v; want one naming bad.json", err)
	}
}

func TestSamplesFromCassetteDecideTheIDShape(t *testing.T) {
	cas, err := fixtures.Load("testdata/incidents_cassette.yaml")
	if err != nil {
		t.Fatal(err)
	}
	samples := SamplesFromCassette(cas)
	if len(samples) != 3 || !strings.HasPrefix(samples[0].Source, "testdata/incidents_cassette.yaml:") {
		t.Fatalf("samples %v; want the create's object, the list page and its item, named by cassette and line (the 404 skipped)", samples)
	}
	m := infer(t, "testdata/incidents_notes.yaml", WithSamples(samples...))
	inc := resource(t, m, "incidents")
	if inc.ID.Prefix != "inc_" || inc.ID.Length != 8 || inc.ID.Alphabet != Hex || !strings.Contains(inc.ID.Source, "incidents_cassette.yaml") {
		t.Errorf("incidents: id shape %s from %s; want inc_ and 8 hex, from the cassette rather than the contract's example", inc.ID, inc.ID.Source)
	}
	wantIDs(t, inc.ID, `^inc_[0-9a-f]{8}$`, 50)
}
