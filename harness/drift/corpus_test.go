package drift_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/fixtures"
	"github.com/tetherkit/tether/harness/drift"
	"github.com/tetherkit/tether/internal/jsonpath"
	"github.com/tetherkit/tether/sandbox"
)

// A corpus pair and the calls a connector made of its older contract.
type corpusPair struct {
	dir, old, new string // the pair's folder under pairs/ and its two files
	vendor, base  string // the vendor's name and real base URL
	token         string
	calls         []string // GET paths, as the connector called them
	// wantFields is whether the calls reach a response field that the
	// newer contract removed or retyped: drift must name each such field.
	wantFields bool
	// unobservable are operations whose field changes the newer vendor's
	// answers do not show, with the reason.
	unobservable map[string]string
}

// TestDriftCorpusSlack records a connector's Slack calls through the
// recording proxy against a sandbox of Slack's Web API 1.0.6, then checks
// them against a sandbox of 1.2.0, which removed rtm.start: the drift
// found is what changed between the two documents for the operations
// recorded, no more.
func TestDriftCorpusSlack(t *testing.T) {
	checkCorpusPair(t, corpusPair{
		dir: "slack-web-1.0.6-to-1.2.0", old: "old.json", new: "new.json",
		vendor: "slack", base: "https://slack.com/api", token: "xoxb-1111-2222-driftcheck",
		calls: []string{"/rtm.start", "/rtm.connect", "/users.list", "/auth.test"},
		unobservable: map[string]string{
			"GET /users.list": "1.2.0 rewrote objs_user as a list of schemas under items, which declares no field, " +
				"so the difference lists every member field as removed; the newer vendor still sends them all " +
				"(the sandbox answers 1.2.0's own example), and drift rightly finds none missing",
		},
	})
}

// TestDriftCorpusStripe does the same across Stripe's 2022-08-01 API
// version: recipients and Bitcoin receivers are gone, and a customer and
// a Checkout session lost fields.
func TestDriftCorpusStripe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: Stripe's two contracts take long to load under the race detector; the plain pass runs this")
	}
	checkCorpusPair(t, corpusPair{
		dir: "stripe-2022-08-01-version-bump", old: "old.yaml", new: "new.yaml",
		vendor: "stripe", base: "https://api.stripe.com", token: "sk_test_driftcheck000000000000",
		calls: []string{
			"/v1/customers/cus_Drift000001",
			"/v1/checkout/sessions/cs_test_drift01",
			"/v1/recipients/rp_drift0001",
			"/v1/bitcoin/receivers",
			"/v1/balance",
			"/v1/products/prod_drift0001",
		},
		wantFields: true,
	})
}

// TestDriftCorpusGitHub does the same across GitHub's routes from
// octokit 2.10.1 to 5.2.0: the downloads API is gone, a marketplace
// purchase's unit count went from string to integer, and an
// installation's permissions lost two fields.
func TestDriftCorpusGitHub(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: GitHub's two contracts take long to load under the race detector; the plain pass runs this")
	}
	checkCorpusPair(t, corpusPair{
		dir: "github-octokit-routes-2.10.1-to-5.2.0", old: "old.json", new: "new.json",
		vendor: "github", base: "https://api.github.com", token: "ghp_driftcheck0000000000000000000000",
		calls: []string{
			"/repos/octo/app/downloads",
			"/repos/octo/app/downloads/7",
			"/marketplace_listing/accounts/42",
			"/app/installations/9",
			"/users/octocat",
			"/repos/octo/app/issues/3",
		},
		wantFields: true,
	})
}

func checkCorpusPair(t *testing.T, p corpusPair) {
	t.Helper()
	corpus := os.Getenv("TETHER_CORPUS")
	if corpus == "" {
		t.Skip("TETHER_CORPUS is not set: the contract pairs live in the corpus")
	}
	pair := filepath.Join(corpus, "pairs", p.dir)
	oldData, err := os.ReadFile(filepath.Join(pair, p.old))
	if err != nil {
		t.Fatal(err)
	}
	oldC, err := contracts.Parse(p.old, oldData)
	if err != nil {
		t.Fatal(err)
	}
	newC, err := contracts.Load(filepath.Join(pair, p.new))
	if err != nil {
		t.Fatal(err)
	}

	// Record, as `tether record --as` does, through the proxy.
	oldSb, err := sandbox.Start([]sandbox.Vendor{{Name: p.vendor, Contract: oldC}}, sandbox.Stateless())
	if err != nil {
		t.Fatal(err)
	}
	defer oldSb.Close()
	proxy, err := fixtures.NewProxy(oldSb.VendorURL(p.vendor), fixtures.RecordAs(p.base))
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(proxy)
	defer ps.Close()
	recordedBody := map[string][]byte{} // by operation, "GET /template"
	for _, path := range p.calls {
		req, _ := http.NewRequest("GET", ps.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+p.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode/100 != 2 {
			t.Fatalf("recording %s: status %d: %s", path, resp.StatusCode, body)
		}
		m, err := oldC.Find("GET", p.base+path)
		if err != nil {
			t.Fatalf("recording %s: %v", path, err)
		}
		recordedBody["GET "+m.Operation.Path] = body
	}
	dir := t.TempDir()
	ext := filepath.Ext(p.old)
	write(t, filepath.Join(dir, "contracts", p.vendor+ext), string(oldData))
	write(t, filepath.Join(dir, "contracts", "events.yaml"), crmContract)
	write(t, filepath.Join(dir, "connector.yaml"), `name: driftcheck
version: 1.0.0
summary: drift against the corpus
support: stable
vendors:
  `+p.vendor+`: {contract: contracts/`+p.vendor+ext+`, secret: `+p.vendor+`_token}
events: {contract: contracts/events.yaml}
scopes: []
run: {webhook: /events}
`)
	if err := os.MkdirAll(filepath.Join(dir, "cassettes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := proxy.Cassette().Save(filepath.Join(dir, "cassettes", p.vendor+".yaml")); err != nil {
		t.Fatal(err)
	}

	// What changed, for the operations recorded, says the contracts
	// package: operations gone, and response fields removed or retyped
	// that the recorded answers hold.
	var wantGone []string
	for _, path := range p.calls {
		if _, err := newC.Find("GET", p.base+path); err != nil {
			wantGone = append(wantGone, path)
		}
	}
	changed := map[string]bool{}
	wantField := map[string]string{} // "GET /template $.field" -> the change
	for _, ch := range contracts.Compare(oldC.Spec(), newC.Spec()) {
		op := ch.Method + " " + ch.Path
		changed[op] = true
		body, recorded := recordedBody[op]
		if _, ok := p.unobservable[op]; ok {
			continue
		}
		if !recorded || ch.Body != "response" || ch.Status != "200" || !fieldChange(ch.ID) {
			continue
		}
		if holds(t, body, ch.Field) {
			wantField[op+" "+ch.Field] = ch.ID
		}
	}
	t.Logf("%d operations gone and %d response fields removed or retyped, for the calls recorded", len(wantGone), len(wantField))
	if p.wantFields && len(wantField) == 0 {
		t.Fatalf("the recorded answers hold none of the fields the newer contract removed or retyped: choose other calls")
	}

	newSb, err := sandbox.Start([]sandbox.Vendor{{Name: p.vendor, Contract: newC}}, sandbox.Stateless())
	if err != nil {
		t.Fatal(err)
	}
	defer newSb.Close()
	res, err := drift.Check(context.Background(), load(t, dir), p.vendor, newSb.VendorURL(p.vendor), drift.WithCredential(p.token))
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked != len(p.calls) {
		t.Errorf("checked %d, want %d", res.Checked, len(p.calls))
	}
	var gotGone []string
	gotField := map[string]bool{}
	for _, f := range res.Findings {
		op := opOf(oldC, f.Operation)
		switch f.ID {
		case drift.RuleOperationGone:
			gotGone = append(gotGone, pathOf(t, p, oldC, op))
		case drift.RuleCassetteDrift, drift.RuleLiveContractViolation:
			if !changed[op] {
				t.Errorf("%v: the contract did not change there", f)
			}
			gotField[op+" "+f.Path] = true
		}
	}
	slices.Sort(gotGone)
	slices.Sort(wantGone)
	if len(wantGone) == 0 || !slices.Equal(gotGone, wantGone) {
		t.Errorf("gone %v, want %v (from the contracts' difference)", gotGone, wantGone)
	}
	for k, id := range wantField {
		if !gotField[k] {
			t.Errorf("%s: the newer contract says %s, but drift did not report the field; found %v", k, id, res.Findings)
		}
	}
}

// fieldChange tells the changes of a response field that a recorded
// answer can show: the field gone, or of another type.
func fieldChange(id string) bool {
	return strings.HasSuffix(id, "property-removed") || id == "response-property-type-changed"
}

// holds reports whether the JSON body has a value at the path, written
// as the contracts package writes it ("$.data[*].name").
func holds(t *testing.T, body []byte, path string) bool {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return false
	}
	found := false
	var walk func(p string, v any)
	walk = func(p string, v any) {
		if p == path {
			found = true
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(p+"[*]", e)
			}
		case map[string]any:
			for k, e := range x {
				walk(p+jsonpath.Key(k), e)
			}
		}
	}
	walk("$", v)
	return found
}

// opOf is "GET /template" for a finding's operation, an operationId or
// already "METHOD /template".
func opOf(c *contracts.Contract, id string) string {
	for _, op := range c.Operations() {
		if op.ID == id {
			return op.Method + " " + op.Path
		}
	}
	return id
}

// pathOf is the call of p that reached op.
func pathOf(t *testing.T, p corpusPair, c *contracts.Contract, op string) string {
	t.Helper()
	for _, path := range p.calls {
		if m, err := c.Find("GET", p.base+path); err == nil && "GET "+m.Operation.Path == op {
			return path
		}
	}
	return op
}
