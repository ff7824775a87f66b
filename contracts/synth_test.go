package contracts

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"
)

// namedSchema is one schema of a test document: a component, or an operation's body.
type namedSchema struct {
	name      string
	schema    *base.Schema
	direction payloadDirection
}

// testDoc is a parsed test document: its component schemas in document order, then the
// JSON bodies of its operations.
type testDoc struct {
	version float32
	schemas []namedSchema
	bodies  []namedSchema
}

func (d testDoc) schema(t testing.TB, name string) *base.Schema {
	t.Helper()
	for _, s := range d.schemas {
		if s.name == name {
			return s.schema
		}
	}
	t.Fatalf("no component schema %q", name)
	return nil
}

// parseDoc builds the model of an OpenAPI document. Model build errors are ignored: for
// circular references (Stripe, Datadog) libopenapi reports one yet the model is usable.
func parseDoc(t testing.TB, spec []byte) testDoc {
	t.Helper()
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatalf("parse document: %v", err)
	}
	model, _ := doc.BuildV3Model()
	if model == nil {
		t.Fatal("build model: no model")
	}
	out := testDoc{version: 3.0}
	if strings.HasPrefix(doc.GetVersion(), "3.1") {
		out.version = 3.1
	}
	if model.Model.Components != nil {
		for name, proxy := range model.Model.Components.Schemas.FromOldest() {
			if sch := proxy.Schema(); sch != nil {
				out.schemas = append(out.schemas, namedSchema{name: name, schema: sch})
			}
		}
	}
	if model.Model.Paths == nil {
		return out
	}
	body := func(name string, content *orderedmap.Map[string, *v3.MediaType], dir payloadDirection) {
		for mt, media := range content.FromOldest() {
			if !strings.Contains(mt, "json") || media.Schema == nil {
				continue
			}
			if sch := media.Schema.Schema(); sch != nil {
				out.bodies = append(out.bodies, namedSchema{name: name + " " + mt, schema: sch, direction: dir})
			}
		}
	}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method, op := range item.GetOperations().FromOldest() {
			name := strings.ToUpper(method) + " " + path
			if op.RequestBody != nil {
				body(name+" request", op.RequestBody.Content, requestDirection)
			}
			if op.Responses == nil {
				continue
			}
			for code, resp := range op.Responses.Codes.FromOldest() {
				body(name+" "+code, resp.Content, responseDirection)
			}
			if op.Responses.Default != nil {
				body(name+" default", op.Responses.Default.Content, responseDirection)
			}
		}
	}
	return out
}

func loadDoc(t testing.TB, path string) testDoc {
	t.Helper()
	spec, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseDoc(t, spec)
}

func newValidator() schema_validation.SchemaValidator {
	return schema_validation.NewSchemaValidator(config.WithFormatAssertions())
}

// validationProblems validates a value as it would arrive over the wire (through
// encoding/json) and returns the validator's complaints, none when valid.
func validationProblems(t testing.TB, v schema_validation.SchemaValidator, sch *base.Schema, value any, version float32) []string {
	t.Helper()
	raw, err := json.Marshal(value)
	if err != nil {
		t.Fatalf("marshal %#v: %v", value, err)
	}
	var decoded any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	ok, errs := v.ValidateSchemaObjectWithVersion(sch, decoded, version)
	if ok {
		return nil
	}
	var out []string
	for _, e := range errs {
		if len(e.SchemaValidationErrors) == 0 {
			out = append(out, e.Message+": "+e.Reason)
		}
		for _, se := range e.SchemaValidationErrors {
			out = append(out, se.FieldPath+" "+se.KeywordLocation+": "+se.Reason)
		}
	}
	if len(out) == 0 {
		out = []string{"invalid"}
	}
	return out
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

// TestSynthValidatesShapes checks that every component schema of the shape documents
// gets a value, for several seeds, that the validator accepts with format assertions.
func TestSynthValidatesShapes(t *testing.T) {
	v := newValidator()
	for _, file := range []string{"shapes_30.yaml", "shapes_31.yaml"} {
		doc := loadDoc(t, filepath.Join("testdata", "synth", file))
		for _, ns := range doc.schemas {
			for seed := uint64(1); seed <= 5; seed++ {
				for _, dir := range []payloadDirection{eitherDirection, requestDirection, responseDirection} {
					s := newSynthesizer(seed, doc.version)
					s.direction = dir
					value, err := s.value(ns.schema)
					if err != nil {
						t.Errorf("%s %s seed %d: %v", file, ns.name, seed, err)
						continue
					}
					if problems := validationProblems(t, v, ns.schema, value, doc.version); problems != nil {
						t.Errorf("%s %s seed %d: invalid value %s:\n  %s", file, ns.name, seed, compact(value), strings.Join(problems, "\n  "))
					}
				}
			}
		}
	}
}

func TestSynthChoices(t *testing.T) {
	shapes30 := loadDoc(t, filepath.Join("testdata", "synth", "shapes_30.yaml"))
	shapes31 := loadDoc(t, filepath.Join("testdata", "synth", "shapes_31.yaml"))
	obj := func(t *testing.T, v any) map[string]any {
		t.Helper()
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("got %s, want an object", compact(v))
		}
		return m
	}
	tests := []struct {
		name      string
		doc       testDoc
		schema    string
		direction payloadDirection
		check     func(t *testing.T, v any)
		reason    string
	}{{
		name:   "discriminator mapping key",
		doc:    shapes30,
		schema: "Pet",
		check: func(t *testing.T, v any) {
			if got := obj(t, v)["petType"]; got != "cat" {
				t.Errorf("petType = %v, want the mapping key cat", got)
			}
		},
		reason: "a oneOf with a discriminator names the chosen branch by its mapping key",
	}, {
		name:   "discriminator in 3.1 with enum-typed property",
		doc:    shapes31,
		schema: "Message",
		check: func(t *testing.T, v any) {
			if got := obj(t, v)["type"]; got != "text" {
				t.Errorf("type = %v, want text", got)
			}
		},
		reason: "the mapping key and the branch's own enum agree, so the value carries both",
	}, {
		name:   "discriminator on an allOf parent",
		doc:    shapes30,
		schema: "Horse",
		check: func(t *testing.T, v any) {
			if _, ok := obj(t, v)["kind"]; !ok {
				t.Errorf("no kind in %s", compact(v))
			}
		},
		reason: "the validator insists on the discriminating property whenever a schema declares one",
	}, {
		name:   "oneOf exclusive branches",
		doc:    shapes30,
		schema: "Overlap",
		check: func(t *testing.T, v any) {
			m := obj(t, v)
			_, a := m["a"]
			_, b := m["b"]
			if a == b {
				t.Errorf("want exactly one of a and b, got %s", compact(v))
			}
		},
		reason: "optional properties must not make the value fit a second oneOf branch",
	}, {
		name:      "request omits optional readOnly",
		doc:       shapes30,
		schema:    "Customer",
		direction: requestDirection,
		check: func(t *testing.T, v any) {
			m := obj(t, v)
			if _, ok := m["created"]; ok {
				t.Errorf("optional readOnly created present in a request: %s", compact(v))
			}
			if _, ok := m["id"]; !ok {
				t.Errorf("required readOnly id missing: %s", compact(v))
			}
			if _, ok := m["password"]; !ok {
				t.Errorf("writeOnly password missing from a request: %s", compact(v))
			}
		},
		reason: "a client does not send readOnly properties unless the schema requires them",
	}, {
		name:      "response omits optional writeOnly",
		doc:       shapes30,
		schema:    "Customer",
		direction: responseDirection,
		check: func(t *testing.T, v any) {
			m := obj(t, v)
			if _, ok := m["password"]; ok {
				t.Errorf("writeOnly password present in a response: %s", compact(v))
			}
			if _, ok := m["created"]; !ok {
				t.Errorf("readOnly created missing from a response: %s", compact(v))
			}
		},
		reason: "a server does not return writeOnly properties",
	}, {
		name:   "3.1 type array picks the non-null type",
		doc:    shapes31,
		schema: "NullableName",
		check: func(t *testing.T, v any) {
			if s, ok := v.(string); !ok || len(s) < 2 {
				t.Errorf("got %s, want a string of 2+ characters", compact(v))
			}
		},
		reason: "null is a way out, not the value a reader expects",
	}, {
		name:   "oneOf with a null branch picks the object",
		doc:    shapes31,
		schema: "MaybeUser",
		check: func(t *testing.T, v any) {
			obj(t, v)
		},
		reason: "Discord marks optional objects as oneOf null or a reference",
	}, {
		name:   "prefixItems",
		doc:    shapes31,
		schema: "Tuple",
		check: func(t *testing.T, v any) {
			l, ok := v.([]any)
			if !ok || len(l) != 3 || l[0] != "point" {
				t.Errorf("got %s, want [\"point\", n, n]", compact(v))
			}
		},
		reason: "tuple positions take their own schemas and items: false closes the tuple",
	}, {
		name:   "const",
		doc:    shapes31,
		schema: "Constant",
		check: func(t *testing.T, v any) {
			if v != "v1" {
				t.Errorf("got %s, want v1", compact(v))
			}
		},
		reason: "a const is the only valid value",
	}, {
		name:   "examples are preferred when they fit",
		doc:    shapes31,
		schema: "Examples",
		check: func(t *testing.T, v any) {
			if v != "acct_1" {
				t.Errorf("got %s, want the first example acct_1", compact(v))
			}
		},
		reason: "an example reads better than random text",
	}, {
		name:   "3.0 example",
		doc:    shapes30,
		schema: "ExampleCurrency",
		check: func(t *testing.T, v any) {
			if v != "usd" {
				t.Errorf("got %s, want usd", compact(v))
			}
		},
		reason: "the example fits the pattern",
	}, {
		name:   "an example that breaks its format is ignored",
		doc:    shapes30,
		schema: "BadExample",
		check: func(t *testing.T, v any) {
			if v == "2020-01-01" {
				t.Errorf("used the example %v, which is not a date-time", v)
			}
		},
		reason: "vendor examples are sometimes wrong; a wrong one must not leak into values",
	}, {
		name:   "3.0 exclusive bounds",
		doc:    shapes30,
		schema: "Quantity",
		check: func(t *testing.T, v any) {
			n, ok := v.(int64)
			if !ok || n <= 10 || n >= 20 {
				t.Errorf("got %s (%T), want an int64 in (10, 20)", compact(v), v)
			}
		},
		reason: "in 3.0 exclusiveMinimum is a flag on minimum",
	}, {
		name:   "3.1 exclusive bounds",
		doc:    shapes31,
		schema: "ExclusiveInt",
		check: func(t *testing.T, v any) {
			if v != int64(2) {
				t.Errorf("got %s, want 2", compact(v))
			}
		},
		reason: "in 3.1 exclusiveMinimum is a number of its own",
	}, {
		name:   "multipleOf with decimals",
		doc:    shapes30,
		schema: "Price",
		check: func(t *testing.T, v any) {
			f, ok := v.(float64)
			if !ok || f < 0.5 || f > 0.75 {
				t.Errorf("got %s, want a number in [0.5, 0.75]", compact(v))
			}
		},
		reason: "multiples of 0.05 must survive float64 and JSON exactly",
	}, {
		name:   "huge int64",
		doc:    shapes30,
		schema: "Huge",
		check: func(t *testing.T, v any) {
			if n, ok := v.(int64); !ok || n < 9007199254740000 {
				t.Errorf("got %s (%T), want an int64 above the minimum", compact(v), v)
			}
		},
		reason: "integers are int64 so that big ones stay exact",
	}, {
		name:   "circular schema terminates",
		doc:    shapes30,
		schema: "TreeNode",
		check: func(t *testing.T, v any) {
			if _, ok := obj(t, v)["parent"]; ok {
				t.Errorf("optional recursive parent included: %s", compact(v))
			}
		},
		reason: "an optional property that recurses is left out",
	}, {
		name:   "required recursion ends in null",
		doc:    shapes30,
		schema: "LinkedList",
		check: func(t *testing.T, v any) {
			if next := obj(t, v)["next"]; next != nil {
				t.Errorf("next = %s, want null", compact(next))
			}
		},
		reason: "a nullable allOf in 3.0 admits null, the way out of the recursion",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSynthesizer(1, tt.doc.version)
			s.direction = tt.direction
			v, err := s.value(tt.doc.schema(t, tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, v)
		})
	}
}

func TestSynthDeterminism(t *testing.T) {
	for _, file := range []string{"shapes_30.yaml", "shapes_31.yaml"} {
		doc := loadDoc(t, filepath.Join("testdata", "synth", file))
		for _, ns := range doc.schemas {
			a, errA := newSynthesizer(42, doc.version).value(ns.schema)
			b, errB := newSynthesizer(42, doc.version).value(ns.schema)
			if fmt.Sprint(errA) != fmt.Sprint(errB) || !reflect.DeepEqual(a, b) {
				t.Errorf("%s %s: two runs with seed 42 differ:\n%s\n%s", file, ns.name, compact(a), compact(b))
			}
		}
	}
	doc := loadDoc(t, filepath.Join("testdata", "synth", "shapes_30.yaml"))
	sch := doc.schema(t, "Customer")
	a, _ := newSynthesizer(1, doc.version).value(sch)
	b, _ := newSynthesizer(2, doc.version).value(sch)
	if reflect.DeepEqual(a, b) {
		t.Errorf("seeds 1 and 2 gave the same customer %s", compact(a))
	}
	// One synthesizer reused gives the same as a fresh one for its first value, and its
	// state does not leak path bookkeeping from one value into the next.
	s := newSynthesizer(9, doc.version)
	first, _ := s.value(sch)
	again, _ := newSynthesizer(9, doc.version).value(sch)
	if !reflect.DeepEqual(first, again) {
		t.Errorf("reused synthesizer diverged")
	}
	if _, err := s.value(doc.schema(t, "TreeNode")); err != nil {
		t.Errorf("second value: %v", err)
	}
}

func TestSynthUnsatisfiable(t *testing.T) {
	u30 := loadDoc(t, filepath.Join("testdata", "synth", "unsatisfiable_30.yaml"))
	u31 := loadDoc(t, filepath.Join("testdata", "synth", "unsatisfiable_31.yaml"))
	tests := []struct {
		doc        testDoc
		schema     string
		wantPath   string
		wantReason string
		reason     string
	}{
		{u30, "Order", "$.items[0].amount", "minimum 10 is greater than maximum 5", "the path names the nested value and the reason the bounds"},
		{u30, "Lengths", "$", "minLength 10 is greater than maxLength 5", "string bounds that cross"},
		{u30, "NoEnumFits", "$", "no enum value satisfies", "an enum with no member of the declared type"},
		{u30, "PatternTooLong", "$", `pattern "^[0-9]{6}$" cannot produce a string of 0 to 4 characters`, "a pattern longer than maxLength allows"},
		{u30, "SelfRequired", "$.self.self.self", "recurses into the same schema", "a required property that recurses with no way out"},
		{u30, "ConflictingTypes", "$", "conflicting types", "allOf members of different types"},
		{u30, "NotAnything", "$", "not: {} rejects every value", "not with an empty schema"},
		{u30, "ClosedRequired", "$", `required property "id" is not allowed by additionalProperties: false`, "a required property the schema forbids"},
		{u30, "TooFewDistinct", "$", "cannot find 3 distinct items", "uniqueItems over a type with two values"},
		{u30, "ItemBounds", "$", "minItems 3 is greater than maxItems 1", "array bounds that cross"},
		{u30, "ExclusiveSame", "$", "exclusive bounds leave no number between 5 and 5", "equal bounds with one exclusive"},
		{u30, "NoMultiple", "$", "no multiple of 5 lies between 1 and 4", "multipleOf outside the range"},
		{u30, "NoBranch", "$", "oneOf: no branch can be satisfied", "every oneOf branch is unsatisfiable"},
		{u30, "Lookahead", "$", "is not supported", "Go's regexp, which the validator uses too, has no lookahead"},
		{u31, "ExclusiveRange", "$", "no integer lies between 4 and 5", "3.1 numeric exclusive bounds with no integer between"},
		{u31, "FalseSchema", "$.gone", "schema false admits no value", "a required property whose schema is false"},
		{u31, "ConstMismatch", "$", `const "seven" does not satisfy`, "a const of the wrong type"},
		{u31, "EmptyTuple", "$", "minItems 2 is greater than maxItems 1", "items: false caps the array at its prefixItems"},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			v, err := newSynthesizer(1, tt.doc.version).value(tt.doc.schema(t, tt.schema))
			var u *UnsatisfiableError
			if !errors.As(err, &u) {
				t.Fatalf("got %s, %v; want an UnsatisfiableError (%s)", compact(v), err, tt.reason)
			}
			if u.Path != tt.wantPath {
				t.Errorf("Path = %q, want %q (%s)", u.Path, tt.wantPath, tt.reason)
			}
			if !strings.Contains(u.Reason, tt.wantReason) {
				t.Errorf("Reason = %q, want it to contain %q (%s)", u.Reason, tt.wantReason, tt.reason)
			}
			if u.Line <= 0 {
				t.Errorf("Line = %d, want the line of the offending schema", u.Line)
			}
			if !strings.Contains(err.Error(), u.Path) || !strings.Contains(err.Error(), u.Reason) {
				t.Errorf("Error() = %q lacks path or reason", err.Error())
			}
		})
	}
}

func TestSynthUnsatisfiableLine(t *testing.T) {
	doc := loadDoc(t, filepath.Join("testdata", "synth", "unsatisfiable_30.yaml"))
	_, err := newSynthesizer(1, doc.version).value(doc.schema(t, "Order"))
	var u *UnsatisfiableError
	if !errors.As(err, &u) {
		t.Fatal(err)
	}
	// Line 19 holds `minimum: 10` in the document.
	if u.Line != 19 {
		t.Errorf("Line = %d, want 19, the minimum keyword", u.Line)
	}
}

func TestSynthCircularTerminates(t *testing.T) {
	doc30 := loadDoc(t, filepath.Join("testdata", "synth", "shapes_30.yaml"))
	doc31 := loadDoc(t, filepath.Join("testdata", "synth", "shapes_31.yaml"))
	v := newValidator()
	tests := []struct {
		doc    testDoc
		schema string
		reason string
	}{
		{doc30, "TreeNode", "optional self reference through an array and a property"},
		{doc30, "LinkedList", "required self reference with a nullable way out"},
		{doc30, "StripeCustomer", "Stripe-style cycle customer -> invoice -> customer through expandable anyOf"},
		{doc31, "Guild", "Discord-style cycle through oneOf null-or-reference"},
		{doc31, "Channel", "the same cycle entered from the other side"},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			sch := tt.doc.schema(t, tt.schema)
			start := time.Now()
			value, err := newSynthesizer(3, tt.doc.version).value(sch)
			if err != nil {
				t.Fatalf("%v (%s)", err, tt.reason)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
			if problems := validationProblems(t, v, sch, value, tt.doc.version); problems != nil {
				t.Errorf("invalid %s: %s", compact(value), strings.Join(problems, "; "))
			}
		})
	}
}

// TestSynthCorpus runs the synthesiser over the component schemas and the JSON request
// and response bodies of real vendor contracts, validates the values it builds, and
// checks that every invalid variant derived from them is invalid. It needs
// TETHER_CORPUS, the directory holding specs/.
//
// Every schema and body is synthesised (that takes well under a second per contract),
// but on the large contracts only a deterministic sample (every n-th) is validated: the
// validator compiles each large circular schema slowly (Stripe: about 0.2 s each), and
// validating them all takes minutes; set TETHER_CORPUS_FULL=1 to validate every value.
// Three variants of each validated value are checked. The contracts run in parallel.
func TestSynthCorpus(t *testing.T) {
	root := os.Getenv("TETHER_CORPUS")
	if root == "" {
		t.Skip("TETHER_CORPUS is not set; set it to the corpus directory (holding specs/) to run the synthesiser over real contracts")
	}
	specs := []struct {
		file   string
		sample int // validate every n-th schema and body
		reason string
	}{
		{"stripe-spec3-2023-08-16.yaml", 16, "4 MB, ~1300 anyOf, circular expandable references"},
		{"github-api.github.com-v0.0.6.json", 2, "3.0 with inline bodies, oneOf and nullable"},
		{"discord-openapi.json", 4, "3.1 with type arrays, $ref with siblings, oneOf null-or-reference"},
		{"twilio-api-v2010.json", 1, "patterns on identifiers, form and JSON bodies"},
		{"twilio-messaging-v1.yaml", 1, "small 3.0 contract"},
		{"datadog-v1-openapi.yaml", 4, "circular references, ambiguous oneOf, many enums"},
	}
	full := os.Getenv("TETHER_CORPUS_FULL") != ""
	for _, spec := range specs {
		switch {
		case full:
			spec.sample = 1
		case testing.Short():
			// The race pass (-short) synthesises every schema and body but
			// validates one value in eight as many as the full pass does:
			// validation under the race detector is what made it slow.
			spec.sample *= 8
		}
		t.Run(spec.file, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			doc := loadDoc(t, filepath.Join(root, "specs", spec.file))
			loaded := time.Since(start)
			v := newValidator()
			var ok, unsat, validated, variants int
			var synthTime, validateTime time.Duration
			var reasons []string
			all := append(slices.Clone(doc.schemas), doc.bodies...)
			for i, ns := range all {
				s := newSynthesizer(uint64(i), doc.version)
				s.direction = ns.direction
				t0 := time.Now()
				value, err := s.value(ns.schema)
				synthTime += time.Since(t0)
				var u *UnsatisfiableError
				if errors.As(err, &u) {
					unsat++
					reasons = append(reasons, ns.name+" at "+u.Path+": "+u.Reason)
					continue
				}
				if err != nil {
					t.Errorf("%s: unexpected error %v", ns.name, err)
					continue
				}
				ok++
				if i%spec.sample != 0 {
					continue
				}
				validated++
				t0 = time.Now()
				problems := validationProblems(t, v, ns.schema, value, doc.version)
				validateTime += time.Since(t0)
				if problems != nil {
					t.Errorf("%s: invalid value %s:\n  %s", ns.name, compact(value), strings.Join(problems, "\n  "))
					continue
				}
				// Rejecting an invalid value costs the validator far more than accepting a
				// valid one (it locates every failure), so a few variants per value are
				// checked, from different places in the list.
				t0 = time.Now()
				all := invalidVariants(ns.schema, value, doc.version)
				for k := range min(len(all), 3) {
					vr := all[(i+k*len(all)/3)%len(all)]
					variants++
					if validationProblems(t, v, ns.schema, vr.Value, doc.version) == nil {
						t.Errorf("%s: variant %s at %s (%s) is valid: %s", ns.name, vr.Rule, vr.Path, vr.Reason, compact(vr.Value))
					}
				}
				validateTime += time.Since(t0)
			}
			t.Logf("%s: %d schemas + %d bodies: %d synthesised, %d unsatisfiable; %d values and their %d invalid variants validated; load %v, synthesis %v, validation %v",
				spec.file, len(doc.schemas), len(doc.bodies), ok, unsat, validated, variants,
				loaded.Round(time.Millisecond), synthTime.Round(time.Millisecond), validateTime.Round(time.Millisecond))
			for _, r := range reasons {
				t.Logf("  unsatisfiable: %s", r)
			}
		})
	}
}

// TestSynthFormatCheckAgrees holds the synthesiser's own format checks to the
// validator's: whatever checkFormat calls valid the validator accepts, and whatever it
// calls invalid the validator rejects. Unsure answers are free.
func TestSynthFormatCheckAgrees(t *testing.T) {
	samples := []string{
		"", "a", "2023-04-05", "2023-02-30", "2023-04-05T06:07:08Z", "2023-04-05t06:07:08.123+02:00",
		"2023-04-05T24:00:00Z", "2023-04-05 06:07:08Z", "06:07:08Z", "06:07:08", "23:59:60Z", "6:07:08Z",
		"ann@example.com", "ann@", "@example.com", "a.b@example.com", "\"q\"@example.com", "ann@[192.0.2.1]",
		"3fa85f64-5717-4562-b3fc-2c963f66afa6", "3fa85f64-5717-4562-b3fc-2c963f66afa", "3fa85f645717",
		"192.0.2.1", "192.0.2.01", "256.0.0.1", "1.2.3", "2001:db8::1", "2001:db8::1%eth0", "::ffff:192.0.2.1",
		"example.com", "-bad.com", "a..b", "xn--bcher-kva.example", strings.Repeat("a", 64) + ".com",
		"https://example.com/x", "/relative", "mailto:ann@example.com", "http://[::1]:80/", "http://[zz]/", `a\b`,
		"/a/b", "a/b", "/a~2", "/a~0~1", "0/a", "1#", "01/a", "#",
		"P1D", "PT1H", "P1W", "P1Y2M3DT4H5M6S", "P", "PT", "P1H", "P1D1Y",
		"^[a-z]+$", "(", "1.2.3", "1.2", "01.2.3", "1.2.3-rc.1", "https://example.com/{id}", "{a{b}}",
	}
	formats := []string{"date", "date-time", "time", "email", "uuid", "ipv4", "ipv6", "hostname", "uri",
		"uri-reference", "json-pointer", "relative-json-pointer", "duration", "regex", "semver", "uri-template"}
	var spec strings.Builder
	spec.WriteString("openapi: 3.1.0\ninfo: {title: formats, version: \"1\"}\npaths: {}\ncomponents:\n  schemas:\n")
	for _, f := range formats {
		fmt.Fprintf(&spec, "    %s: {type: string, format: %s}\n", strings.ReplaceAll(f, "-", "_"), f)
	}
	doc := parseDoc(t, []byte(spec.String()))
	v := newValidator()
	for _, f := range formats {
		sch := doc.schema(t, strings.ReplaceAll(f, "-", "_"))
		for _, s := range samples {
			got := checkFormat(f, s)
			if got == formatUnsure {
				continue
			}
			valid := validationProblems(t, v, sch, s, doc.version) == nil
			if (got == formatValid) != valid {
				t.Errorf("format %s, %q: checkFormat says %v, validator says valid=%v", f, s, got == formatValid, valid)
			}
		}
	}
}
