package state

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
)

func TestOverridesCorrectInference(t *testing.T) {
	ov, err := ParseOverrides("incidents_notes.yaml.model.yaml", []byte(`resources:
  incidents:
    id: {prefix: inc_, alphabet: lower-alnum, length: 10}
    pagination: page
    idempotency: X-Request-Key
  notes:
    id: {field: content}
  state:
    item: /status
`))
	if err != nil {
		t.Fatal(err)
	}
	m := infer(t, "testdata/incidents_notes.yaml", WithOverrides(ov))
	inc := resource(t, m, "incidents")
	if inc.ID.Prefix != "inc_" || inc.ID.Alphabet != LowerAlnum || inc.ID.Length != 10 || inc.ID.Source != "the overrides file" {
		t.Errorf("incidents: id shape %s from %s; want the overrides' inc_ + 10 lower-alnum", inc.ID, inc.ID.Source)
	}
	wantIDs(t, inc.ID, `^inc_[a-z0-9]{10}$`, 20)
	if p := inc.Op(List).Pagination; p.Style != Page {
		t.Errorf("incidents list pages as %s; the overrides say page", p.Style)
	}
	if inc.Idempotency != "X-Request-Key" {
		t.Errorf("incidents: idempotency %q; the overrides say X-Request-Key", inc.Idempotency)
	}
	if n := resource(t, m, "notes"); n.IDField != "content" {
		t.Errorf("notes: id field %q; the overrides say content", n.IDField)
	}
	// Regrouping: /status, which inference leaves out, is the item of "state".
	st := resource(t, m, "state")
	wantOps(t, st, "read getStatus")
	for _, n := range m.Notes {
		if n.OperationID == "getStatus" && !strings.Contains(n.Reason, "resource state:") {
			t.Errorf("getStatus is still noted as no resource: %s", n)
		}
	}
}

func TestOverridesErrorsAreLocated(t *testing.T) {
	cases := []struct {
		name, text string
		line, col  int
		msg        string
		reason     string
	}{
		{"unknown key", "resources:\n  customers:\n    pages: cursor\n", 3, 0, "unknown field pages",
			"a misspelt key must not be ignored silently"},
		{"unknown style", "resources:\n  customers:\n    pagination: scroll\n", 3, 17, `unknown pagination style "scroll"`,
			"the style is checked against the known ones, at its value"},
		{"unknown alphabet", "resources:\n  customers:\n    id: {alphabet: emoji}\n", 3, 20, `unknown id alphabet "emoji"`,
			"the alphabet is checked at its value inside a flow mapping"},
		{"bad type", "resources:\n  customers:\n    id:\n      type: uuid\n", 4, 13, `id type "uuid"`,
			"the type is string or integer"},
		{"not a path", "resources:\n  customers:\n    item: customers/{id}\n", 3, 11, "is not a path template",
			"paths start with /"},
		{"resources a list", "resources: [customers]\n", 1, 0, "",
			"the YAML decoder refuses a list where a mapping is expected"},
		{"not a mapping", "- customers\n", 1, 0, "an overrides file is a mapping",
			"the top must be a mapping"},
		{"syntax", "resources:\n  customers: {id: [\n", 3, 0, "invalid YAML",
			"a syntax error names its line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseOverrides("x.model.yaml", []byte(tc.text))
			var ce *contracts.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T); want a *contracts.Error: %s", err, err, tc.reason)
			}
			if ce.File != "x.model.yaml" || (tc.line > 0 && ce.Line != tc.line) || (tc.col > 0 && ce.Column != tc.col) || !strings.Contains(ce.Msg, tc.msg) {
				t.Errorf("error %v at %d:%d; want %q at %d:%d: %s", err, ce.Line, ce.Column, tc.msg, tc.line, tc.col, tc.reason)
			}
		})
	}
}

func TestOverridesAgainstTheContract(t *testing.T) {
	c := load(t, "testdata/incidents_notes.yaml")
	for _, tc := range []struct{ text, msg, reason string }{
		{"resources:\n  things:\n    pagination: cursor\n", "the model has no resource things", "an unknown name with no paths cannot be placed"},
		{"resources:\n  things:\n    collection: /things\n", "the contract has no path /things", "a path the contract lacks is refused where it is written"},
		{"resources:\n  incidents:\n    id: {field: number}\n", "its schema has no property number", "an id field the schema lacks is refused"},
	} {
		ov, err := ParseOverrides("o.yaml", []byte(tc.text))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Infer(c, WithOverrides(ov))
		var ce *contracts.Error
		if !errors.As(err, &ce) || ce.Line != 2 && ce.Line != 3 || !strings.Contains(ce.Msg, tc.msg) {
			t.Errorf("error %v; want %q at line 2 or 3: %s", err, tc.msg, tc.reason)
		}
	}
}

func FuzzParseOverrides(f *testing.F) {
	for _, seed := range []string{
		"resources:\n  customers:\n    id: {field: id, prefix: cus_, alphabet: alnum, length: 14}\n    pagination: cursor\n",
		"resources:\n  state:\n    collection: /incidents\n    item: /incidents/{id}\n    idempotency: Idempotency-Key\n",
		"resources: {}\n",
		"resources:\n  x: null\n",
		"resources:\n  x:\n    id:\n      length: -4\n",
		"{",
		"",
		"resources: &a [*a]\n",
		"resources:\n  odd:\n    item: /{id}\n    collection: /incidents/{id}\n",
	} {
		f.Add([]byte(seed))
	}
	c, err := contracts.Load("testdata/incidents_notes.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ov, err := ParseOverrides("f.yaml", data)
		if err != nil {
			var ce *contracts.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *contracts.Error", err)
			}
			return
		}
		_, _ = Infer(c, WithOverrides(ov))
	})
}

func TestOverridesOddGroupingDoesNotPanic(t *testing.T) {
	c, err := contracts.Load("testdata/odd_paths.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Infer(c)
	if err != nil || len(plain.Resources) != 0 || len(plain.Notes) != 1 || !strings.Contains(plain.Notes[0].Reason, "only segment is a parameter") {
		t.Fatalf("without overrides: %v, notes %v; want no resource and a note on the lone parameter", err, plain.Notes)
	}
	ov, err := ParseOverrides("o.yaml", []byte("resources:\n  root:\n    item: /{thing_id}\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Infer(c, WithOverrides(ov))
	if err != nil {
		t.Fatalf("%v; an item path with nothing before it is still a resource the overrides may name", err)
	}
	if r := resource(t, m, "root"); r.IDParam != "thing_id" || r.IDField != "id" {
		t.Errorf("root: id param %q field %q; want thing_id, id", r.IDParam, r.IDField)
	}
}

func TestLoadOverrides(t *testing.T) {
	dir := t.TempDir()
	path := OverridesFile(dir + "/crm.yaml")
	if !strings.HasSuffix(path, "crm.yaml.model.yaml") {
		t.Errorf("overrides of crm.yaml at %s; want crm.yaml.model.yaml beside it", path)
	}
	if _, err := LoadOverrides(path); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("a missing file gave %v; want an error saying it cannot be read", err)
	}
	big := "resources:\n" + strings.Repeat("# padding to go over the limit\n", 40000)
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOverrides(path); err == nil || !strings.Contains(err.Error(), "over 1024 KiB") {
		t.Errorf("a 1.2 MB file gave %v; want it refused as too large", err)
	}
	if err := os.WriteFile(path, []byte("resources:\n  deals:\n    pagination: cursor\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ov, err := LoadOverrides(path)
	if err != nil || len(ov.Resources) != 1 || ov.Resources[0].Pagination != Cursor {
		t.Errorf("LoadOverrides gave %+v, %v; want deals paged by cursor", ov, err)
	}
}
