package contracts

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tetherkit/tether/internal/jsonvalue"
)

// checkVariants asserts the properties every call of invalidVariants must have: valid is
// valid, every variant is invalid for the validator, the input is not modified (not even
// through a variant's Value), and a second call gives the same variants.
func checkVariants(t *testing.T, doc testDoc, name string, valid any) []Variant {
	t.Helper()
	sch := doc.schema(t, name)
	v := newValidator()
	if problems := validationProblems(t, v, sch, valid, doc.version); problems != nil {
		t.Fatalf("%s: the valid input %s is invalid: %s", name, compact(valid), strings.Join(problems, "; "))
	}
	before := jsonvalue.Clone(valid)
	variants := invalidVariants(sch, valid, doc.version)
	for _, vr := range variants {
		if problems := validationProblems(t, v, sch, vr.Value, doc.version); problems == nil {
			t.Errorf("%s: variant %s at %s (%s) is valid: %s", name, vr.Rule, vr.Path, vr.Reason, compact(vr.Value))
		}
		if vr.Rule == "" || vr.Path == "" || vr.Reason == "" || !strings.HasPrefix(vr.Path, "$") {
			t.Errorf("%s: incomplete variant %+v", name, vr)
		}
	}
	again := invalidVariants(sch, valid, doc.version)
	if !reflect.DeepEqual(variants, again) {
		t.Errorf("%s: two calls gave different variants", name)
	}
	// Changing the variants must not reach the input.
	for _, vr := range variants {
		scribble(vr.Value)
	}
	if !reflect.DeepEqual(before, valid) {
		t.Errorf("%s: input modified: %s, was %s", name, compact(valid), compact(before))
	}
	if len(variants) > maxVariants {
		t.Errorf("%s: %d variants, more than %d", name, len(variants), maxVariants)
	}
	return variants
}

// scribble overwrites every container in v.
func scribble(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k := range x {
			scribble(x[k])
			x[k] = "scribbled"
		}
	case []any:
		for i := range x {
			scribble(x[i])
			x[i] = "scribbled"
		}
	}
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVariantRules(t *testing.T) {
	v30 := loadDoc(t, filepath.Join("testdata", "synth", "variants_30.yaml"))
	v31 := loadDoc(t, filepath.Join("testdata", "synth", "variants_31.yaml"))
	tests := []struct {
		name   string
		doc    testDoc
		schema string
		valid  string
		want   []string // "rule path" pairs that must appear, in this order
		absent []string // "rule path" pairs that must not appear
		reason string
	}{{
		name:   "customer",
		doc:    v30,
		schema: "Customer",
		valid:  `{"email":"ann@example.com","name":"Ann","age":30,"status":"active","tags":["vip"],"address":{"line1":"1 Main St","postal":"12345"}}`,
		want: []string{
			"type-mismatch $",
			"required-missing $.email",
			"required-missing $.name",
			"required-missing $.status",
			"type-mismatch $.email",
			"min-length-violated $.name",
			"max-length-violated $.name",
			"minimum-violated $.age",
			"maximum-violated $.age",
			"enum-mismatch $.status",
			"min-items-violated $.tags",
			"max-items-violated $.tags",
			"pattern-mismatch $.tags[0]",
			"required-missing $.address.line1",
			"additional-property $.address.unexpectedProperty",
			"pattern-mismatch $.address.postal",
		},
		reason: "each rule once, in document order, into nested objects and array items",
	}, {
		name:   "oneOf branches are guarded",
		doc:    v30,
		schema: "Payment",
		valid:  `{"method":{"number":"4242424242424242","cvc":"123"}}`,
		want:   []string{"required-missing $.method", "type-mismatch $.method", "required-missing $.method.number", "pattern-mismatch $.method.number"},
		reason: "a change inside a oneOf branch is kept when the changed value fits no branch",
	}, {
		name:   "pattern that matches everything",
		doc:    v30,
		schema: "Note",
		valid:  `"hello"`,
		want:   []string{"type-mismatch $"},
		absent: []string{"pattern-mismatch $"},
		reason: "no string breaks .*, so the rule is skipped",
	}, {
		name:   "no type, no rules",
		doc:    v30,
		schema: "Untyped",
		valid:  `{"a":1}`,
		absent: []string{"type-mismatch $"},
		reason: "a schema without a type admits every type",
	}, {
		name:   "anyOf string or object",
		doc:    v30,
		schema: "Expandable",
		valid:  `{"customer":"cus_123"}`,
		want:   []string{"required-missing $.customer", "type-mismatch $.customer", "max-length-violated $.customer"},
		reason: "an integer or a longer string fits neither the string branch nor the Customer object",
	}, {
		name:   "allOf merges rules",
		doc:    v30,
		schema: "Merged",
		valid:  `{"line1":"1 Main St","city":"Oslo"}`,
		want:   []string{"required-missing $.line1", "additional-property $.unexpectedProperty", "required-missing $.city", "min-length-violated $.city"},
		reason: "rules of every allOf member apply, including additionalProperties: false of one",
	}, {
		name:   "3.0 exclusive minimum",
		doc:    v30,
		schema: "Temperature",
		valid:  `21.5`,
		want:   []string{"type-mismatch $", "minimum-violated $", "maximum-violated $"},
		reason: "exclusiveMinimum: true makes the minimum itself invalid",
	}, {
		name:   "maximum at the int64 limit",
		doc:    v30,
		schema: "Big",
		valid:  `12`,
		want:   []string{"type-mismatch $", "maximum-violated $"},
		reason: "maximum + 1 must stay above the maximum once it is a JSON number",
	}, {
		name:   "nullable enum",
		doc:    v30,
		schema: "NullableCode",
		valid:  `"a"`,
		want:   []string{"type-mismatch $", "enum-mismatch $"},
		reason: "null is in a nullable enum, so the mismatch is a string",
	}, {
		name:   "oneOf that a value can fit twice",
		doc:    v30,
		schema: "Loose",
		valid:  `{"a":0}`,
		want:   []string{"type-mismatch $"},
		absent: []string{"minimum-violated $.a"},
		reason: "a changed a still fits the second branch, so no variant is claimed for it",
	}, {
		name:   "discriminator property",
		doc:    v30,
		schema: "Animal",
		valid:  `{"kind":"dog","name":"Rex"}`,
		want:   []string{"required-missing $.kind"},
		absent: []string{"required-missing $.name"},
		reason: "the validator demands the discriminating property even when required does not list it",
	}, {
		name:   "3.1 member",
		doc:    v31,
		schema: "Member",
		valid:  `{"id":"123","nick":null,"roles":["admin"],"kind":"member","score":50}`,
		want: []string{
			"required-missing $.id",
			"pattern-mismatch $.id",
			"type-mismatch $.nick",
			"max-items-violated $.roles",
			"const-mismatch $.kind",
			"minimum-violated $.score",
			"maximum-violated $.score",
		},
		reason: "type arrays, const and numeric exclusive bounds of 3.1",
	}, {
		name:   "3.1 tuple",
		doc:    v31,
		schema: "Point",
		valid:  `[59.9, 10.7]`,
		want:   []string{"type-mismatch $", "minimum-violated $[0]", "maximum-violated $[0]", "minimum-violated $[1]", "maximum-violated $[1]"},
		reason: "each prefixItems position has its own schema",
	}, {
		name:   "3.1 oneOf null or reference",
		doc:    v31,
		schema: "MaybeMember",
		valid:  `{"id":"1","nick":"x","roles":[]}`,
		want:   []string{"required-missing $.id", "pattern-mismatch $.id"},
		reason: "Discord's nullable references: changes inside fit neither null nor the reference",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			variants := checkVariants(t, tt.doc, tt.schema, decodeJSON(t, tt.valid))
			var got []string
			for _, vr := range variants {
				got = append(got, vr.Rule+" "+vr.Path)
			}
			last := -1
			for _, w := range tt.want {
				i := slices.Index(got, w)
				if i < 0 {
					t.Errorf("missing %q (%s); got %q", w, tt.reason, got)
					continue
				}
				if i < last {
					t.Errorf("%q out of document order (%s); got %q", w, tt.reason, got)
				}
				last = i
			}
			for _, a := range tt.absent {
				if slices.Contains(got, a) {
					t.Errorf("unexpected %q (%s)", a, tt.reason)
				}
			}
		})
	}
}

func TestVariantReasons(t *testing.T) {
	doc := loadDoc(t, filepath.Join("testdata", "synth", "variants_30.yaml"))
	valid := decodeJSON(t, `{"email":"ann@example.com","name":"Ann","status":"active"}`)
	variants := invalidVariants(doc.schema(t, "Customer"), valid, doc.version)
	tests := []struct {
		rule, path, text string
		reason           string
	}{
		{"required-missing", "$.email", `removes required property "email"`, "names the property"},
		{"min-length-violated", "$.name", "shortens $.name to 1 characters, below minLength 2", "names the bound"},
		{"enum-mismatch", "$.status", `sets $.status to "active-invalid", outside the enum`, "shows the new value"},
	}
	for _, tt := range tests {
		i := slices.IndexFunc(variants, func(v Variant) bool { return v.Rule == tt.rule && v.Path == tt.path })
		if i < 0 {
			t.Errorf("no %s at %s", tt.rule, tt.path)
			continue
		}
		if variants[i].Reason != tt.text {
			t.Errorf("%s at %s: Reason = %q, want %q (%s)", tt.rule, tt.path, variants[i].Reason, tt.text, tt.reason)
		}
	}
}

// TestVariantsOverShapes derives variants from synthesised values of every shape schema,
// in both versions, and checks each is invalid.
func TestVariantsOverShapes(t *testing.T) {
	for _, file := range []string{"shapes_30.yaml", "shapes_31.yaml", "variants_30.yaml", "variants_31.yaml"} {
		doc := loadDoc(t, filepath.Join("testdata", "synth", file))
		total := 0
		for _, ns := range doc.schemas {
			valid, err := newSynthesizer(5, doc.version).value(ns.schema)
			if err != nil {
				continue // shapes the synthesiser cannot satisfy have no valid input
			}
			t.Run(file+"/"+ns.name, func(t *testing.T) {
				total += len(checkVariants(t, doc, ns.name, valid))
			})
		}
		if total == 0 {
			t.Errorf("%s: no variants at all", file)
		}
	}
}

func TestVariantsBounded(t *testing.T) {
	doc := loadDoc(t, filepath.Join("testdata", "synth", "variants_30.yaml"))
	// Many tags, each would add variants if every item were walked.
	valid := decodeJSON(t, `{"email":"a@example.com","name":"Ann","status":"active","tags":["a","b","c"],"address":{"line1":"x"}}`)
	variants := invalidVariants(doc.schema(t, "Customer"), valid, doc.version)
	for _, v := range variants {
		if strings.HasPrefix(v.Path, "$.tags[1]") || strings.HasPrefix(v.Path, "$.tags[2]") {
			t.Errorf("walked a second item of a homogeneous array: %s %s", v.Rule, v.Path)
		}
	}
}
