package contracts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
)

// validateWhole checks req as validateRequest did before JSON bodies got
// their own path: the whole request handed to the validator, which reads
// and decodes the body itself.
func (c *Contract) validateWhole(req *http.Request, m *Match) []Finding {
	c.ready(m.Operation)
	r := withoutBase(req, m.BasePath)
	_, errs := c.validator.ValidateHttpRequestSyncWithPathItem(r, m.Operation.item, m.Operation.Path)
	errs = dropEncodedReserved(errs, r)
	if len(errs) == 0 {
		return nil
	}
	var root anchor
	if rb := m.Operation.op.RequestBody; rb != nil {
		root = c.mediaAnchor(rb.Content, req.Header.Get("Content-Type"))
	}
	return c.problems(m.Operation.ID, c.allowNullable(errs, root), root)
}

// jsonBodies are bodies derived from a valid one: itself, and breakages
// of each kind the validator reports differently.
func jsonBodies(valid []byte) map[string][]byte {
	out := map[string][]byte{
		"the valid body":           valid,
		"an empty object":          []byte(`{}`),
		"an array":                 []byte(`[1,"two",{}]`),
		"null":                     []byte(`null`),
		"a string":                 []byte(`"text"`),
		"cut short":                valid[:len(valid)/2],
		"not JSON":                 []byte(`name=Rex`),
		"a second value after it":  append(slices.Clone(valid), []byte(` {"x":1}`)...),
		"a byte of garbage after":  append(slices.Clone(valid), 'x'),
		"white space around":       append(append([]byte("\n "), valid...), []byte(" \n")...),
		"deeply nested arrays":     append(append(bytes.Repeat([]byte("["), 200), '1'), bytes.Repeat([]byte("]"), 200)...),
		"a number too large":       []byte(`1e400`),
		"invalid UTF-8 in strings": []byte("{\"name\":\"\xff\xfe\"}"),
	}
	var v map[string]any
	if json.Unmarshal(valid, &v) == nil {
		// The first few properties, each given a value of every JSON type.
		keys := slices.Sorted(maps.Keys(v))
		for _, k := range keys[:min(len(keys), 4)] {
			for _, bad := range []any{"s", 1.5, -7, true, nil, []any{}, map[string]any{"z": 1}} {
				w := map[string]any{}
				for k2, v2 := range v {
					w[k2] = v2
				}
				w[k] = bad
				b, _ := json.Marshal(w)
				out[fmt.Sprintf("%s as %T %v", k, bad, bad)] = b
			}
		}
	}
	return out
}

// TestJSONBodyPathAgrees: a JSON body is decoded once and checked against
// its schema directly (validateJSONRequest), which keeps the cost of a
// large body proportional to it. The findings must be the ones the
// validator gives when it reads the whole request itself, for valid and
// broken bodies of every operation that takes JSON.
func TestJSONBodyPathAgrees(t *testing.T) {
	files := []string{"petstore.yaml", "nullable.yaml", "swagger_pets.yaml", "examples.yaml", "security.yaml"}
	for _, f := range files {
		c := mustLoad(t, filepath.Join("testdata", f))
		compareJSONPaths(t, c, 0)
	}
}

// TestJSONBodyPathAgreesOnCorpus runs the same comparison over the
// corpus's vendor contracts: OpenAPI 3.0 and 3.1, converted Swagger, and
// schemas with cycles.
func TestJSONBodyPathAgreesOnCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("a sweep of the corpus's contracts; the full pass runs it, -short (the race pass) does not")
	}
	corpusDir(t)
	cs, err := loadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	limit := 6 // operations per contract
	for _, s := range corpusSpecs {
		compareJSONPaths(t, cs[s.file], limit)
	}
}

// compareJSONPaths compares the two ways of validating for up to limit
// operations of c with a JSON request body (0: all of them).
func compareJSONPaths(t *testing.T, c *Contract, limit int) {
	t.Helper()
	checked := 0
	for _, op := range c.Operations() {
		if limit > 0 && checked >= limit {
			break
		}
		ex, err := c.ExampleRequest(op.ID, 1)
		if err != nil || len(ex.Body) == 0 || !isJSON(ex.ContentType) {
			continue
		}
		checked++
		for reason, body := range jsonBodies(ex.Body) {
			for _, ct := range []string{ex.ContentType, ex.ContentType + "; charset=utf-8"} {
				mk := func() *http.Request {
					r, err := ex.HTTPRequest("https://vendor.example")
					if err != nil {
						t.Fatalf("%s %s: %v", c.File(), op.ID, err)
					}
					r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
					r.Header.Set("Content-Type", ct)
					return r
				}
				req := mk()
				m, got := c.ValidateRequest(req)
				if m == nil {
					t.Fatalf("%s %s: the example request matches no operation: %v", c.File(), op.ID, got)
				}
				if rest, _ := io.ReadAll(req.Body); !bytes.Equal(rest, body) {
					t.Errorf("%s %s, %s: the body after validation is %d bytes, want the %d sent", c.File(), op.ID, reason, len(rest), len(body))
				}
				want := c.validateWhole(mk(), m)
				if d := findingsDiff(got, want); d != "" {
					t.Errorf("%s %s, %s (%s):\n%s", c.File(), op.ID, reason, ct, d)
				}
			}
		}
	}
	if checked == 0 && limit == 0 {
		t.Logf("%s: no operation takes a JSON body", c.File())
	}
}

// findingsDiff says how got differs from want, finding by finding.
func findingsDiff(got, want []Finding) string {
	line := func(f Finding) string {
		return fmt.Sprintf("%s %s:%d:%d %s %s", f.ID, f.File, f.Line, f.Column, f.Path, f.Message)
	}
	var g, w []string
	for _, f := range got {
		g = append(g, line(f))
	}
	for _, f := range want {
		w = append(w, line(f))
	}
	if slices.Equal(g, w) {
		return ""
	}
	return fmt.Sprintf("  got  %q\n  want %q", g, w)
}
