package state

import (
	"encoding/json"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel/high/base"
)

// componentSchemas parses spec and returns its component schemas by name.
func componentSchemas(t *testing.T, spec string) func(name string) *base.Schema {
	t.Helper()
	doc, err := libopenapi.NewDocument([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	return func(name string) *base.Schema { return m.Model.Components.Schemas.GetOrZero(name).Schema() }
}

// plainValue decides when a create may skip validation, so every schema
// that constrains a value beyond its type must make it say no.
func TestPlainValue(t *testing.T) {
	spec := `openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    plain: {type: string}
    pattern: {type: string, pattern: "^a"}
    format: {type: string, format: email}
    long: {type: string, maxLength: 3}
    enum: {type: string, enum: [a]}
    int: {type: integer}
    min: {type: integer, minimum: 1}
    num: {type: number}
    bool: {type: boolean}
    meta: {type: object, additionalProperties: {type: string}}
    metaLong: {type: object, additionalProperties: {type: string, maxLength: 2}}
    props: {type: object, properties: {a: {type: string}}}
    either: {oneOf: [{type: string}, {type: integer}]}
`
	schema := componentSchemas(t, spec)
	tests := []struct {
		schema string
		v      any
		want   bool
	}{
		{"plain", "x", true},
		{"plain", json.Number("1"), false},
		{"pattern", "a", false},
		{"format", "a@b.c", false},
		{"long", "ab", false},
		{"enum", "a", false},
		{"int", json.Number("7"), true},
		{"int", json.Number("7.5"), false},
		{"min", json.Number("7"), false},
		{"num", json.Number("7.5"), true},
		{"bool", true, true},
		{"bool", "true", false},
		{"meta", map[string]any{"crm_id": "D-7"}, true},
		{"meta", map[string]any{"n": json.Number("1")}, false},
		{"metaLong", map[string]any{"k": "v"}, false},
		{"props", map[string]any{"a": "x"}, false},
		{"either", "x", false},
	}
	for _, tc := range tests {
		if got := plainValue(tc.v, schema(tc.schema), 0); got != tc.want {
			t.Errorf("%s, %#v: %v, want %v", tc.schema, tc.v, got, tc.want)
		}
	}
}
