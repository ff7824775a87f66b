package contracts

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func mustSpec(t testing.TB, name, doc string) *Spec {
	t.Helper()
	s, err := ParseSpec(name, []byte(doc))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// doc wraps paths (and components, webhooks, security...) in an OpenAPI
// 3.1 document; the fragment is indented already.
func doc(rest string) string {
	return "openapi: 3.1.0\ninfo: {title: t, version: '1'}\n" + rest
}

const petOp = `paths:
  /pets/{id}:
    get:
      operationId: getPet
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
        "404": {description: missing}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: {type: string, maxLength: 50}
                kind: {type: string, enum: [cat, dog, bird]}
                tags: {type: array, items: {type: string}}
      responses:
        "201": {description: made}
components:
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties:
        id: {type: string}
        name: {type: string}
        status: {type: string, enum: [available, sold]}
        owner: {$ref: "#/components/schemas/Owner"}
        nick: {type: [string, "null"]}
    Owner:
      type: object
      properties:
        name: {type: string}
        pets: {type: array, items: {$ref: "#/components/schemas/Pet"}}
`

// TestCompareFamilies edits one thing of a contract at a time and checks
// the one change it gives, with its severity and field.
func TestCompareFamilies(t *testing.T) {
	cases := []struct {
		name, from, to string
		id             string
		sev            Level
		field          string
	}{
		{"operation removed", "    post:\n      requestBody:", "    put:\n      requestBody:", "api-removed-without-deprecation", LevelError, ""},
		{"parameter added as required", "        - {name: limit, in: query, schema", "        - {name: q, in: query, required: true, schema: {type: string}}\n        - {name: limit, in: query, schema", "new-required-request-parameter", LevelError, ""},
		{"parameter removed", "        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}\n", "", "request-parameter-removed", LevelWarning, ""},
		{"parameter type changed", "{name: limit, in: query, schema: {type: integer,", "{name: limit, in: query, schema: {type: string,", "request-parameter-type-changed", LevelError, "$"},
		{"parameter bound tightened", "maximum: 100}", "maximum: 50}", "request-parameter-max-decreased", LevelError, "$"},
		{"parameter format added", "schema: {type: string}}\n        - {name: limit", "schema: {type: string, format: uuid}}\n        - {name: limit", "request-parameter-type-specialized", LevelError, "$"},
		{"parameter became required", "{name: limit, in: query, schema", "{name: limit, in: query, required: true, schema", "request-parameter-became-required", LevelError, ""},
		{"request body property made required", "required: [name]\n              properties:", "required: [name, kind]\n              properties:", "request-property-became-required", LevelError, "$.kind"},
		{"request enum narrowed", "enum: [cat, dog, bird]", "enum: [cat, dog]", "request-property-enum-value-removed", LevelError, "$.kind"},
		{"request property retyped", "tags: {type: array, items: {type: string}}", "tags: {type: array, items: {type: integer}}", "request-property-type-changed", LevelError, "$.tags[*]"},
		{"request media type removed", "          application/json:\n            schema:\n              type: object", "          application/xml:\n            schema:\n              type: object", "request-body-media-type-removed", LevelError, ""},
		{"request body newly required property", "                tags: {type: array", "                color: {type: string}\n                tags: {type: array", "new-optional-request-property", LevelInfo, "$.color"},
		{"response status removed", "        \"200\":\n          description: ok", "        \"203\":\n          description: ok", "response-success-status-removed", LevelError, ""},
		{"response property removed", "        status: {type: string, enum: [available, sold]}\n", "", "response-optional-property-removed", LevelWarning, "$.status"},
		{"required response property removed", "      required: [id, name]\n      properties:\n        id: {type: string}\n", "      required: [name]\n      properties:\n", "response-required-property-removed", LevelError, "$.id"},
		{"response property retyped", "        id: {type: string}", "        id: {type: integer}", "response-property-type-changed", LevelError, "$.id"},
		{"response enum widened", "enum: [available, sold]", "enum: [available, sold, pending]", "response-property-enum-value-added", LevelWarning, "$.status"},
		{"response nullability added", "        name: {type: string}\n        status", "        name: {type: [string, \"null\"]}\n        status", "response-property-became-nullable", LevelError, "$.name"},
		{"3.1 type array widened", "nick: {type: [string, \"null\"]}", "nick: {type: [string, integer, \"null\"]}", "response-property-list-of-types-widened", LevelError, "$.nick"},
		{"response property made optional", "      required: [id, name]", "      required: [id]", "response-property-became-optional", LevelError, "$.name"},
		{"nested through a cycle", "        name: {type: string}\n        pets:", "        name: {type: integer}\n        pets:", "response-property-type-changed", LevelError, "$.owner.name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(petOp, tc.from) {
				t.Fatalf("the case's text %q is not in the contract", tc.from)
			}
			old := mustSpec(t, "old.yaml", doc(petOp))
			cur := mustSpec(t, "new.yaml", doc(strings.Replace(petOp, tc.from, tc.to, 1)))
			got := Compare(old, cur)
			var hit *Change
			for i := range got {
				if got[i].ID == tc.id {
					hit = &got[i]
				}
			}
			if hit == nil {
				t.Fatalf("no %s in:\n%s", tc.id, changesText(got))
			}
			if hit.Level != tc.sev || hit.Field != tc.field {
				t.Errorf("%s: severity %s field %q, want %s %q", tc.id, hit.Level, hit.Field, tc.sev, tc.field)
			}
			if hit.Old == nil || hit.New == nil || hit.Old.Line == 0 || hit.New.Line == 0 ||
				hit.Old.File != "old.yaml" || hit.New.File != "new.yaml" {
				t.Errorf("positions: %v -> %v", hit.Old, hit.New)
			}
			if _, ok := RuleFor(hit.ID); !ok || hit.Message == "" || strings.Contains(hit.Message, "%!") {
				t.Errorf("message %q not from the catalogue", hit.Message)
			}
		})
	}
}

func TestCompareDeprecationAndSunset(t *testing.T) {
	old := doc(`paths:
  /a:
    get: {deprecated: true, x-sunset: "2020-01-01", responses: {"200": {description: ok}}}
    put: {deprecated: true, x-sunset: "2999-01-01", responses: {"200": {description: ok}}}
    post: {responses: {"200": {description: ok}}}
    delete: {deprecated: true, responses: {"200": {description: ok}}}
  /b:
    get: {responses: {"200": {description: ok}}}
`)
	cur := doc("paths:\n  /b:\n    get: {responses: {\"200\": {description: ok}}}\n")
	got := Compare(mustSpec(t, "old.yaml", old), mustSpec(t, "new.yaml", cur), On(caseDay))
	want := map[string]string{
		"GET /a":    "api-path-removed-with-deprecation",
		"PUT /a":    "api-path-removed-before-sunset",
		"POST /a":   "api-path-removed-without-deprecation",
		"DELETE /a": "api-path-removed-with-deprecation",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d changes, want %d:\n%s", len(got), len(want), changesText(got))
	}
	for _, c := range got {
		if want[c.Operation()] != c.ID {
			t.Errorf("%s: %s, want %s", c.Operation(), c.ID, want[c.Operation()])
		}
	}
}

func TestCompareSecurityWebhooksAndAlternatives(t *testing.T) {
	old := doc(`security: [{oauth: [deals:read]}]
paths:
  /deals:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                oneOf: [{$ref: "#/components/schemas/Won"}, {$ref: "#/components/schemas/Lost"}]
webhooks:
  deal.updated:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {stage: {type: string}, amount: {type: number}}}
      responses: {"200": {description: ok}}
  deal.deleted:
    post: {responses: {"200": {description: ok}}}
components:
  securitySchemes:
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: /t, scopes: {deals:read: r}}}}
  schemas:
    Won: {type: object, properties: {won_at: {type: string}}}
    Lost: {type: object, properties: {reason: {type: string}}}
`)
	cur := strings.NewReplacer(
		"[{oauth: [deals:read]}]", "[{oauth: [deals:read, deals:admin]}]",
		`{$ref: "#/components/schemas/Lost"}]`, `{$ref: "#/components/schemas/Lost"}, {$ref: "#/components/schemas/Open"}]`,
		"amount: {type: number}", "amount: {type: string}",
		"  deal.deleted:\n", "  deal.archived:\n",
		"    Won:", "    Open: {type: object, properties: {since: {type: string}}}\n    Won:",
	).Replace(old)
	got := Compare(mustSpec(t, "old.yaml", old), mustSpec(t, "new.yaml", cur))
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID+" "+c.Operation()+" "+c.Field)
	}
	for _, w := range []string{
		"api-security-scope-added GET /deals ",
		"response-body-one-of-added GET /deals $",
		"webhook-property-type-changed webhook deal.updated POST $.amount",
		"webhook-removed webhook deal.deleted ",
		"webhook-added webhook deal.archived ",
	} {
		if !slices.Contains(ids, w) {
			t.Errorf("missing %q in:\n%s", w, strings.Join(ids, "\n"))
		}
	}
	if len(got) != 5 {
		t.Errorf("%d changes, want 5:\n%s", len(got), changesText(got))
	}
}

// TestCompareRefactoringIsNoChange: a schema moved under another name, an
// inline schema moved to components, keys in another order.
func TestCompareRefactoringIsNoChange(t *testing.T) {
	old := mustSpec(t, "old.yaml", doc(petOp))
	moved := strings.NewReplacer(
		`"#/components/schemas/Pet"`, `"#/components/schemas/Animal"`,
		"    Pet:\n", "    Animal:\n",
	).Replace(petOp)
	moved = strings.Replace(moved, "      required: [id, name]\n      properties:\n", "      properties:\n", 1)
	moved = strings.Replace(moved, "        nick: {type: [string, \"null\"]}\n", "        nick: {type: [string, \"null\"]}\n      required: [id, name]\n", 1)
	if got := Compare(old, mustSpec(t, "new.yaml", doc(moved))); len(got) > 0 {
		t.Errorf("a moved schema gave changes:\n%s", changesText(got))
	}
	if got := Compare(old, old); len(got) > 0 {
		t.Errorf("a contract compared with itself gave changes:\n%s", changesText(got))
	}
}

func TestCompareSwaggerPositions(t *testing.T) {
	old := `swagger: "2.0"
info: {title: t, version: "1"}
paths:
  /things:
    get:
      parameters:
        - {name: q, in: query, type: string}
      responses:
        "200": {description: ok, schema: {type: object, properties: {a: {type: string}}}}
`
	cur := strings.Replace(old, "a: {type: string}", "a: {type: integer}", 1)
	got := Compare(mustSpec(t, "old.yaml", old), mustSpec(t, "new.yaml", cur))
	if len(got) != 1 || got[0].ID != "response-property-type-changed" {
		t.Fatalf("got:\n%s", changesText(got))
	}
	if got[0].Old.Line != 9 || got[0].New.Line != 9 {
		t.Errorf("positions %v %v, want line 9 of the Swagger 2.0 originals", got[0].Old, got[0].New)
	}
}

func TestParseSpecErrors(t *testing.T) {
	for name, data := range map[string]string{
		"empty.yaml":    "",
		"asyncapi.yaml": "asyncapi: 2.0.0\ninfo: {title: t, version: '1'}\n",
		"broken.yaml":   "openapi: 3.0.0\npaths: [\n",
		"list.yaml":     "- openapi\n",
	} {
		_, err := ParseSpec(name, []byte(data))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
	if _, err := ReadSpec(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzCompare compares mutated documents: nothing panics, and a document
// compared with a fresh read of itself gives no change.
func FuzzCompare(f *testing.F) {
	f.Add([]byte(doc(petOp)), []byte(doc(strings.Replace(petOp, "maximum: 100", "maximum: 5", 1))))
	seeds, _ := filepath.Glob(filepath.Join("testdata", "diff", "*.yaml"))
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data, []byte(doc(petOp)))
		}
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		sa, err := ParseSpec("a.yaml", a)
		if err != nil {
			return
		}
		again, _ := ParseSpec("a.yaml", a)
		if got := Compare(sa, again); len(got) > 0 {
			t.Fatalf("a document compared with itself:\n%s", changesText(got))
		}
		if sb, err := ParseSpec("b.yaml", b); err == nil {
			Compare(sa, sb)
			Compare(sb, sa)
		}
	})
}

// TestCompareCycleOrder: a change inside a cycle is reported on every
// operation that reaches it, whichever path the walk meets first.
func TestCompareCycleOrder(t *testing.T) {
	base := `paths:
  %s
  %s
components:
  schemas:
    A: {type: object, properties: {x: {type: string}, b: {$ref: "#/components/schemas/B"}}}
    B: {type: object, properties: {a: {$ref: "#/components/schemas/A"}}}
`
	a := `/a: {get: {responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/A"}}}}}}}`
	b := `/b: {get: {responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/B"}}}}}}}`
	for _, order := range [][2]string{{a, b}, {b, a}} {
		old := doc(fmt.Sprintf(base, order[0], order[1]))
		cur := strings.Replace(old, "x: {type: string}", "x: {type: integer}", 1)
		got := Compare(mustSpec(t, "old.yaml", old), mustSpec(t, "new.yaml", cur))
		fields := map[string]string{}
		for _, c := range got {
			fields[c.Path] = c.Field
		}
		if fields["/a"] != "$.x" || fields["/b"] != "$.a.x" {
			t.Errorf("order %.2s..: got %v\n%s", order[0], fields, changesText(got))
		}
	}
}

// TestCompareSimilarPaths: two paths that differ only in parameter names
// are two paths, not one renamed.
func TestCompareSimilarPaths(t *testing.T) {
	d := doc(`paths:
  /a/{x}: {get: {responses: {"200": {description: ok}}}}
  /a/{y}: {post: {responses: {"200": {description: ok}}}}
`)
	if got := Compare(mustSpec(t, "a.yaml", d), mustSpec(t, "b.yaml", d)); len(got) > 0 {
		t.Errorf("compared with itself:\n%s", changesText(got))
	}
	// Renaming one parameter leaves one candidate: the same path.
	renamed := strings.Replace(d, "/a/{x}", "/a/{id}", 1)
	if got := Compare(mustSpec(t, "a.yaml", d), mustSpec(t, "b.yaml", renamed)); len(got) > 0 {
		t.Errorf("a renamed path parameter:\n%s", changesText(got))
	}
}
