package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox"
	"github.com/tetherkit/tether/sandbox/state"
)

// startStateTenants serves the CRM and the tracker, seeded from
// testdata/state/seed.yaml, to tenants acme and globex.
func startStateTenants(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	var vs []sandbox.Vendor
	for _, name := range []string{"crm", "tracker"} {
		c, err := contracts.Load("testdata/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, sandbox.Vendor{Name: name, Contract: c})
	}
	s, err := sandbox.Start(vs, sandbox.WithStateFile("testdata/state/seed.yaml"), sandbox.StrictState(),
		sandbox.WithTenant("acme", sandbox.Bearer("acme-token-1234")), sandbox.WithTenant("globex", sandbox.Bearer("globex-token-1234")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seededDeals are the deals every tenant starts with: the contract's
// example, then the state file's.
var seededDeals = []string{"d_1", "d_42"}

// dealIDs are the identifiers of the CRM's deals in m, in order.
func dealIDs(m map[string]state.Document) []string {
	var ids []string
	for _, e := range m["crm"]["deals"] {
		ids = append(ids, fmt.Sprint(e.Object["id"]))
	}
	return ids
}

func oneDeal(id, name string) map[string]state.Document {
	return map[string]state.Document{"crm": {"deals": {{Object: map[string]any{"id": id, "name": name, "stage": "open", "amount": 1.0}}}}}
}

// TestStateAdminThroughTheClient: the admin reads, replaces and resets any
// tenant's state; what it puts is what it then reads.
func TestStateAdminThroughTheClient(t *testing.T) {
	s := startStateTenants(t)
	ctx := context.Background()
	admin := s.Client()

	got, err := admin.State(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dealIDs(got), seededDeals) || len(got["tracker"]["issues"]) != 2 {
		t.Errorf("acme's state at start: %v, want the seeds", got)
	}
	want := oneDeal("d_5", "Put")
	want["tracker"] = state.Document{"issues": {{Keys: map[string]string{"owner": "o", "repo": "r"}, Object: map[string]any{"number": 3.0, "title": "t", "state": "open"}}}}
	if err := admin.SetState(ctx, "acme", want); err != nil {
		t.Fatal(err)
	}
	got, err = admin.State(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("State after SetState (-put +read):\n%s", d)
	}
	if g, _ := admin.State(ctx, "globex"); !slices.Equal(dealIDs(g), seededDeals) {
		t.Errorf("globex after acme's SetState: %v, want its seeds", g["crm"])
	}
	if err := admin.ResetState(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if got, _ = admin.State(ctx, "acme"); !slices.Equal(dealIDs(got), seededDeals) {
		t.Errorf("acme after ResetState: %v, want the seed", got["crm"])
	}

	// Reset without a tenant: everyone's.
	for _, tenant := range []string{"acme", "globex"} {
		if err := admin.SetState(ctx, tenant, oneDeal("d_9", tenant)); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.ResetState(ctx, ""); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"acme", "globex"} {
		if got, _ := admin.State(ctx, tenant); !slices.Equal(dealIDs(got), seededDeals) {
			t.Errorf("%s after resetting every tenant: %v", tenant, got["crm"])
		}
	}

	var ae *sandbox.AdminError
	err = admin.SetState(ctx, "acme", map[string]state.Document{"crm": {"deals": {{Object: map[string]any{"name": "no id"}}}}})
	if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Detail, `crm: deals, item 1: the object has no identifier field "id"`) {
		t.Errorf("SetState of an object without its identifier: %v", err)
	}
	if _, err := admin.State(ctx, ""); !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Detail, "name the tenant") {
		t.Errorf("the admin's State without a tenant: %v", err)
	}
	if _, err := admin.State(ctx, "initech"); !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(ae.Detail, `no tenant "initech"`) {
		t.Errorf("State of a tenant not registered: %v", err)
	}
}

// TestStateAdminTenants: a tenant's credential reads, replaces and resets
// its own state and nobody else's.
func TestStateAdminTenants(t *testing.T) {
	s := startStateTenants(t)
	ctx := context.Background()
	acme := sandbox.NewClient(s.URL(), nil, sandbox.UseToken("acme-token-1234"))
	var ae *sandbox.AdminError

	if err := acme.SetState(ctx, "", oneDeal("d_1", "Acme's")); err != nil {
		t.Fatal(err)
	}
	own, err := acme.State(ctx, "")
	if err != nil || own["crm"]["deals"][0].Object["name"] != "Acme's" {
		t.Fatalf("acme reads its own state: %v %v", err, own)
	}
	if named, err := acme.State(ctx, "acme"); err != nil || !cmp.Equal(named, own) {
		t.Errorf("acme names itself: %v, %v", err, named)
	}
	if g, _ := s.State("globex"); !slices.Equal(dealIDs(g), seededDeals) {
		t.Errorf("acme's SetState reached globex: %v", g["crm"])
	}
	for _, tc := range []struct {
		reason string
		do     func() error
	}{
		{"read another tenant's state", func() error { _, err := acme.State(ctx, "globex"); return err }},
		{"replace another tenant's state", func() error { return acme.SetState(ctx, "globex", oneDeal("d_2", "x")) }},
		{"reset another tenant's state", func() error { return acme.ResetState(ctx, "globex") }},
	} {
		if err := tc.do(); !errors.As(err, &ae) || ae.Status != 403 || !strings.Contains(ae.Detail, "only its own state") {
			t.Errorf("acme may not %s: %v", tc.reason, err)
		}
	}
	if g, _ := s.State("globex"); !slices.Equal(dealIDs(g), seededDeals) {
		t.Errorf("globex after acme's refused calls: %v", g["crm"])
	}
	// A tenant's reset without a tenant is its own, not everyone's.
	if err := s.SetState("globex", oneDeal("d_3", "Globex's")); err != nil {
		t.Fatal(err)
	}
	if err := acme.ResetState(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if own, _ = acme.State(ctx, ""); !slices.Equal(dealIDs(own), seededDeals) {
		t.Errorf("acme after its reset: %v", own["crm"])
	}
	if g, _ := s.State("globex"); g["crm"]["deals"][0].Object["id"] != "d_3" {
		t.Errorf("acme's reset reached globex: %v", g["crm"])
	}
}

// TestStateAdminOverHTTP: the endpoint's own answers, as a client other
// than ours sees them.
func TestStateAdminOverHTTP(t *testing.T) {
	s := startStateTenants(t)
	admin := "Bearer " + s.AdminToken()
	tests := []struct {
		reason, method, path, body, contentType string
		status                                  int
		contains                                string
	}{
		{"one vendor", "GET", "/__tether/state?tenant=acme&vendor=crm", "", "", 200, `{"crm":{"deals":[{"object":{"amount":1200.5,"id":"d_1","name":"Acme renewal","stage":"won"}},{"object":{"amount":99.5,"id":"d_42"`},
		{"a vendor without state", "GET", "/__tether/state?tenant=acme&vendor=erp", "", "", 404, `no vendor \"erp\" with state; the vendors with state are crm, tracker`},
		{"an unknown parameter", "GET", "/__tether/state?tenant=acme&vendr=crm", "", "", 400, "state takes ?tenant=NAME"},
		{"YAML with a mistake, placed in the body", "PUT", "/__tether/state?tenant=acme", "crm:\n  deals:\n    - object: {id: d_1}\n    - object: {name: x}\n", "application/yaml", 400, `request body:4:15: crm: deals, item 2: the object has no identifier field \"id\"`},
		{"a vendor not served, placed in the body", "PUT", "/__tether/state?tenant=acme", `{"erp": {}}`, "application/json", 400, `request body:1:2: no vendor \"erp\" is served`},
		{"malformed JSON", "PUT", "/__tether/state?tenant=acme", `{"crm": {"deals": [}}`, "application/json", 400, "request body:1: invalid YAML"},
		{"a resource the contract lacks", "PUT", "/__tether/state?tenant=acme", "tracker:\n  labels: []\n", "application/yaml", 400, `request body:2:3: tracker: labels: the contract has no such resource`},
		{"PUT without a tenant", "PUT", "/__tether/state", `{}`, "application/json", 400, "name the tenant"},
		{"PUT answers the state", "PUT", "/__tether/state?tenant=acme", `{"crm": {"deals": [{"object": {"id": "d_8", "name": "n", "stage": "won", "amount": 2}}]}}`, "application/json", 200, `"crm":{"deals":[{"object":{"amount":2,"id":"d_8"`},
		{"POST is not a verb of state", "POST", "/__tether/state?tenant=acme", `{}`, "application/json", 405, "use GET, PUT or DELETE"},
		{"reset an unknown tenant", "DELETE", "/__tether/state?tenant=initech", "", "", 404, `no tenant \"initech\"`},
		{"reset one tenant", "DELETE", "/__tether/state?tenant=acme", "", "", 204, ""},
	}
	for _, tc := range tests {
		h := []string{"Authorization", admin}
		if tc.contentType != "" {
			h = append(h, "Content-Type", tc.contentType)
		}
		st, hdr, body := send(t, s, tc.method, tc.path, tc.body, h...)
		if st != tc.status || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: %s %s = %d %s, want %d containing %s", tc.reason, tc.method, tc.path, st, body, tc.status, tc.contains)
		}
		if st >= 400 && !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: a refusal of type %q, want problem+json", tc.reason, hdr.Get("Content-Type"))
		}
		if st == 200 && !json.Valid([]byte(body)) {
			t.Errorf("%s: not JSON: %s", tc.reason, body)
		}
	}
	// The refused PUTs changed nothing; the last reset undid the one that
	// was taken.
	got, err := s.State("acme")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dealIDs(got), seededDeals) || len(got["tracker"]["issues"]) != 2 {
		t.Errorf("acme's state after the calls: %v, want the seeds", got)
	}
	// A state over the bound of a state file is refused before it is read.
	big := strings.Repeat(" ", sandbox.MaxStateFile+1)
	if st, _, body := send(t, s, "PUT", "/__tether/state?tenant=acme", big, "Authorization", admin, "Content-Type", "application/json"); st != http.StatusRequestEntityTooLarge {
		t.Errorf("a body of 64 MiB and a byte: %d %.200s", st, body)
	}
}
