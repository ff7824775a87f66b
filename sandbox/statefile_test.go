package sandbox

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/sandbox/state"
)

// seedState is what testdata/state/seed.yaml and seed.json hold.
var seedState = map[string]state.Document{
	"crm": {"deals": {{Object: map[string]any{"id": "d_42", "name": "Seeded renewal", "stage": "won", "amount": 99.5}}}},
	"tracker": {"issues": {
		{Keys: map[string]string{"owner": "octo", "repo": "hello"}, Object: map[string]any{"number": 7.0, "title": "It broke", "state": "open"}},
		{Keys: map[string]string{"owner": "octo", "repo": "other"}, Object: map[string]any{"number": 8.0, "title": "Elsewhere", "state": "closed"}},
	}},
}

func TestStateFileLoads(t *testing.T) {
	for _, name := range []string{"seed.yaml", "seed.json"} {
		got, err := LoadState(filepath.Join("testdata", "state", name))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(seedState, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
	// What a file holds is what the admin API carries: the same documents
	// go through JSON unchanged.
	b, err := json.Marshal(seedState)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]state.Document
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(seedState, back); d != "" {
		t.Errorf("through JSON (-want +got):\n%s", d)
	}
}

// stateVendors are the CRM (deals at the top level) and the tracker
// (issues under a repository).
func stateVendors(t testing.TB) []Vendor {
	return []Vendor{{Name: "crm", Contract: loadContract(t, "crm.yaml")}, {Name: "tracker", Contract: loadContract(t, "tracker.yaml")}}
}

func TestStateFileErrors(t *testing.T) {
	tests := []struct {
		reason, text string
		// start: the mistake shows once the contracts are known.
		start    bool
		at       string // file:line[:col]
		contains string
	}{
		{reason: "malformed YAML", text: "crm:\n  deals:\n    - object: {id: d_1\n", at: "state.yaml:3", contains: "invalid YAML"},
		{reason: "a quote that never closes, which the parser places nowhere", text: "crm:\n  deals: []\n\"\n", at: "state.yaml:3", contains: "end of stream"},
		{reason: "a list at the top", text: "- crm\n", at: "state.yaml:1:1", contains: "mapping from vendor names"},
		{reason: "a vendor that is not a mapping", text: "crm: [1]\n", at: "state.yaml:1:6", contains: "vendor crm is a list"},
		{reason: "a resource that is not a list", text: "crm:\n  deals: {id: d_1}\n", at: "state.yaml:2:10", contains: "crm: deals is a mapping; it must be a list"},
		{reason: "an item that is not a mapping", text: "crm:\n  deals:\n    - d_1\n", at: "state.yaml:3:7", contains: "crm: deals, item 1 is \"d_1\""},
		{reason: "an item without object", text: "crm:\n  deals:\n    - keys: {a: b}\n", at: "state.yaml:3:7", contains: "has no object:"},
		{reason: "a misspelt field", text: "crm:\n  deals:\n    - objetc: {id: d_1}\n", at: "state.yaml:3:7", contains: `did you mean "object"`},
		{reason: "keys that are not a mapping", text: "tracker:\n  issues:\n    - keys: [octo]\n      object: {number: 1}\n", at: "state.yaml:3:13", contains: "keys is a list"},
		{reason: "an object that is not a mapping", text: "crm:\n  deals:\n    - object: d_1\n", at: "state.yaml:3:15", contains: "object is \"d_1\""},
		{reason: "a vendor given twice", text: "crm: {}\ntracker: {}\ncrm: {}\n", at: "state.yaml:3:1", contains: "given twice"},
		{reason: "a number JSON cannot hold", text: "crm:\n  deals:\n    - object: {id: d_1, amount: .nan}\n", at: "state.yaml:3:33", contains: "NaN"},
		{reason: "a merge key", text: "crm:\n  deals:\n    - object: {<<: {id: d_1}}\n", at: "state.yaml:3:16", contains: "merge keys"},

		{reason: "a vendor not served", text: "crm: {}\nerp:\n  things: []\n", start: true, at: "state.yaml:2:1", contains: `no vendor "erp" is served`},
		{reason: "a misspelt vendor", text: "trakcer: {}\n", start: true, at: "state.yaml:1:1", contains: `did you mean "tracker"`},
		{reason: "a resource the contract lacks", text: "crm:\n  deals: []\n  dealz:\n    - object: {id: d_1}\n", start: true, at: "state.yaml:3:3", contains: `crm: dealz: the contract has no such resource`},
		{reason: "an item without its parent's keys", text: "tracker:\n  issues:\n    - object: {number: 1, title: x, state: open}\n", start: true, at: "state.yaml:3:7", contains: `tracker: issues, item 1: keys: "owner" is missing`},
		{reason: "an item without one key", text: "tracker:\n  issues:\n    - keys: {owner: octo}\n      object: {number: 1, title: x, state: open}\n", start: true, at: "state.yaml:3:13", contains: `"repo" is missing`},
		{reason: "a key the resource does not have", text: "crm:\n  deals:\n    - keys: {org: acme}\n      object: {id: d_1}\n", start: true, at: "state.yaml:3:13", contains: `"org" is not a parent key`},
		{reason: "an object without its identifier", text: "crm:\n  deals:\n    - object: {id: d_1}\n    - object: {name: x}\n", start: true, at: "state.yaml:4:15", contains: `crm: deals, item 2: the object has no identifier field "id"`},
		{reason: "an identifier that is not text or a number", text: "tracker:\n  issues:\n    - keys: {owner: o, repo: r}\n      object: {number: [1]}\n", start: true, at: "state.yaml:4:15", contains: `identifier field "number"`},
	}
	for _, tc := range tests {
		path := filepath.Join(t.TempDir(), "state.yaml")
		if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadState(path)
		if tc.start {
			if err != nil {
				t.Errorf("%s: LoadState: %v; the layout is right, so only Start should fail", tc.reason, err)
				continue
			}
			var s *Sandbox
			s, err = Start(stateVendors(t), WithStateFile(path))
			if err == nil {
				s.Close()
				t.Errorf("%s: Start took the state file", tc.reason)
				continue
			}
		}
		var ce *contracts.Error
		if !errors.As(err, &ce) {
			t.Errorf("%s: %v (%T), want a *contracts.Error", tc.reason, err, err)
			continue
		}
		want := strings.Replace(tc.at, "state.yaml", path, 1) + ": "
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.contains) {
			t.Errorf("%s:\n got %v\nwant %s... %s", tc.reason, err, want, tc.contains)
		}
	}
}

func TestStateFileStatelessVendor(t *testing.T) {
	vs := stateVendors(t)
	vs[1].Stateless = true
	_, err := Start(vs, WithStateFile("testdata/state/seed.yaml"))
	if err == nil || !strings.Contains(err.Error(), "seed.yaml:6:1: vendor \"tracker\" is served without state") {
		t.Errorf("a state file naming a stateless vendor: %v", err)
	}
}

func TestStateFileBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, []byte("crm: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Sparse: the file is over the bound without taking the disk.
	if err := os.Truncate(path, MaxStateFile+1); err != nil {
		t.Fatal(err)
	}
	_, err := LoadState(path)
	if err == nil || !strings.Contains(err.Error(), "over 64 MiB") || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("a state file of 64 MiB and a byte: %v", err)
	}
	// Aliases cannot make a small file a large state.
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	_, err = parseState("bomb.yaml", []byte("crm:\n  deals:\n    - object:\n        id: d_1\n        "+strings.ReplaceAll(bomb, "\n", "\n        ")+"\n"))
	if err == nil || !strings.Contains(err.Error(), "values") {
		t.Errorf("a file of nested aliases: %v, want the bound of values", err)
	}
}

// TestStateFileSeedsEveryTenant: each tenant starts from the file's
// objects and changes only its own; a reset returns to them.
func TestStateFileSeedsEveryTenant(t *testing.T) {
	s := startVendors(t, stateVendors(t), WithStateFile("testdata/state/seed.yaml"), StrictState(),
		WithTenant("acme", Bearer("acme-token-1234")), WithTenant("globex", Bearer("globex-token-1234")))
	deal := func(tok, id string) (int, string) {
		resp, body := call(t, "GET", s.VendorURL("crm")+"/deals/"+id, "", "Authorization", "Bearer "+tok)
		return resp.StatusCode, body
	}
	for _, tok := range []string{"acme-token-1234", "globex-token-1234"} {
		if st, body := deal(tok, "d_42"); st != 200 || !strings.Contains(body, "Seeded renewal") {
			t.Errorf("%s: GET the seeded deal: %d %s", tok, st, body)
		}
	}
	if resp, body := call(t, "GET", s.VendorURL("tracker")+"/repos/octo/hello/issues/7", ""); resp.StatusCode != 200 || !strings.Contains(body, "It broke") {
		t.Errorf("GET the seeded issue: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "GET", s.VendorURL("tracker")+"/repos/octo/hello/issues/8", ""); resp.StatusCode != 404 {
		t.Errorf("GET issue 8 under the wrong repository: %d %s, want 404: keys keep parents apart", resp.StatusCode, body)
	}

	err := s.SetState("acme", map[string]state.Document{"crm": {"deals": {{Object: map[string]any{"id": "d_43", "name": "Replaced", "stage": "open", "amount": 1}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := deal("acme-token-1234", "d_42"); st != 404 {
		t.Errorf("acme after SetState: GET d_42 = %d, want 404", st)
	}
	if st, body := deal("acme-token-1234", "d_43"); st != 200 || !strings.Contains(body, "Replaced") {
		t.Errorf("acme after SetState: GET d_43 = %d %s", st, body)
	}
	if st, _ := deal("globex-token-1234", "d_42"); st != 200 {
		t.Errorf("globex after acme's SetState: GET d_42 = %d, want 200", st)
	}
	got, err := s.State("acme")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got["crm"]["deals"]); n != 1 || got["crm"]["deals"][0].Object["id"] != "d_43" {
		t.Errorf("acme's state: %v", got["crm"])
	}
	if n := len(got["tracker"]["issues"]); n != 2 {
		t.Errorf("acme's tracker state: %d issues, want the 2 seeded: SetState of crm leaves it", n)
	}
	if err := s.ResetState("acme"); err != nil {
		t.Fatal(err)
	}
	if st, _ := deal("acme-token-1234", "d_42"); st != 200 {
		t.Errorf("acme after ResetState: GET d_42 = %d, want the seed again", st)
	}
	if _, err := s.State("acmee"); err == nil || !strings.Contains(err.Error(), `did you mean "acme"`) {
		t.Errorf("State of an unknown tenant: %v", err)
	}
}

// TestStateSetIsAllOrNothing: a document that does not fit one vendor
// leaves every vendor's state as it was.
func TestStateSetIsAllOrNothing(t *testing.T) {
	s := startVendors(t, stateVendors(t), WithStateFile("testdata/state/seed.yaml"))
	before, err := s.State("")
	if err != nil {
		t.Fatal(err)
	}
	err = s.SetState("", map[string]state.Document{
		"crm":     {"deals": {}},
		"tracker": {"issues": {{Object: map[string]any{"number": 1}}}},
	})
	var ee *state.EntryError
	if !errors.As(err, &ee) || ee.Resource != "issues" || ee.Item != 1 || !strings.Contains(err.Error(), `vendor "tracker"`) {
		t.Fatalf("SetState with an issue without keys: %v", err)
	}
	after, err := s.State("")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("a refused SetState changed the state (-before +after):\n%s", d)
	}
	if err := s.SetState("", map[string]state.Document{"erp": {}}); err == nil || !strings.Contains(err.Error(), `no vendor "erp"`) {
		t.Errorf("SetState of a vendor not served: %v", err)
	}
}

// FuzzLoadState reads arbitrary state files: none panics, every error is
// located in the file, and what reads goes through JSON, as the admin API
// carries it, to the same documents.
func FuzzLoadState(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "state", "*"))
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "null", "- a", "crm: [1]", "crm:\n  deals:\n    - object: {id: d_1, x: .inf}", "a: &a [*a]",
		"crm:\n  deals:\n    - {keys: {a: [1]}, object: {}}", "crm: {deals: [{object: {<<: {id: 1}}}]}", "{\"crm\": {\"deals\": [{\"object\": {\"id\": 1e400}}]}}",
		"crm:\n  deals:\n    - object: {1: 2, ? [a]: b}", "crm: !!binary aGk=", "crm:\n  deals:\n    - object: {t: !!timestamp 2001-12-14}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := parseState("fuzz.yaml", data)
		if err != nil {
			var ce *contracts.Error
			if !errors.As(err, &ce) || ce.File != "fuzz.yaml" || ce.Line < 1 || ce.Msg == "" {
				t.Fatalf("an error without a place in the file: %#v", err)
			}
			return
		}
		for vendor, doc := range sf.docs {
			for res, entries := range doc {
				for i, e := range entries {
					if e.Object == nil {
						t.Fatalf("%s: %s, item %d has no object", vendor, res, i+1)
					}
				}
			}
		}
		b, err := json.Marshal(sf.docs)
		if err != nil {
			t.Fatalf("what read cannot be written as JSON: %v", err)
		}
		again, err := parseState("again.json", b)
		if err != nil {
			t.Fatalf("what read, written as JSON, does not read again: %v\n%s", err, b)
		}
		if d := cmp.Diff(sf.docs, again.docs); d != "" {
			t.Fatalf("through JSON (-first +again):\n%s", d)
		}
	})
}
