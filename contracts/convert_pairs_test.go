package contracts

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCorpusSlackPairLoads loads both versions of Slack's Web API contract
// from the corpus pair. Each holds a `$ref` inside `additionalProperties`
// (defs_pinned_info), which the converter leaves unresolved unless repaired.
func TestCorpusSlackPairLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("loads two 1 MB Swagger documents; run without -short")
	}
	dir := filepath.Join(corpusDir(t), "pairs", "slack-web-1.0.6-to-1.2.0")
	hasRTMStart := map[string]bool{"old.json": true, "new.json": false}
	for _, file := range []string{"old.json", "new.json"} {
		c, err := Load(filepath.Join(dir, file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if !c.Converted() || c.OpenAPIVersion() != "2.0" {
			t.Errorf("%s: version %q converted %v, want a converted 2.0 document", file, c.OpenAPIVersion(), c.Converted())
		}
		ops := c.Operations()
		if len(ops) <= 100 {
			t.Errorf("%s: %d operations, want more than 100", file, len(ops))
		}
		found := false
		for _, op := range ops {
			if op.Method == "GET" && op.Path == "/rtm.start" {
				found = true
			}
		}
		_, findErr := c.Find("GET", "/api/rtm.start")
		if want := hasRTMStart[file]; found != want || (findErr == nil) != want {
			t.Errorf("%s: GET /rtm.start listed %v, found by Find %v (%v); want %v", file, found, findErr == nil, findErr, want)
		}
		repaired := 0
		for _, w := range c.Warnings() {
			if w.ID == RuleSwaggerRepaired && strings.Contains(w.Message, "additionalProperties") {
				repaired++
			}
		}
		if repaired == 0 {
			t.Errorf("%s: no warning reports the repaired `$ref` inside additionalProperties", file)
		}
		t.Logf("%s: %d operations, %d warnings", file, len(ops), len(c.Warnings()))
	}
}

// swaggerRefInAdditional is a Swagger 2.0 document whose map values are
// objects with a property given by reference: the converter rewrites no
// `$ref` below an `additionalProperties` schema's own.
const swaggerRefInAdditional = `{
 "swagger": "2.0",
 "info": {"title": "pins", "version": "1"},
 "basePath": "/api",
 "paths": {
  "/pins.list": {
   "get": {
    "operationId": "pinsList",
    "produces": ["application/json"],
    "responses": {
     "200": {"description": "ok", "schema": {"$ref": "#/definitions/pinned"}}
    }
   }
  }
 },
 "definitions": {
  "user_id": {"type": "string", "pattern": "^U[A-Z0-9]+$"},
  "pinned": {
   "type": "object",
   "additionalProperties": {
    "type": "object",
    "required": ["pinned_by"],
    "properties": {
     "pinned_by": {
      "$ref": "#/definitions/user_id"
     }
    }
   }
  }
 }
}`

func TestSwaggerRefInAdditionalProperties(t *testing.T) {
	c, err := Parse("pins.json", []byte(swaggerRefInAdditional))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Operation("pinsList"); !ok {
		t.Fatal("operation pinsList is missing after conversion")
	}
	var w *Finding
	for _, p := range c.Warnings() {
		if p.ID == RuleSwaggerRepaired {
			w = &p
		}
	}
	if w == nil || w.Line != 25 || !strings.Contains(w.Message, "#/components/schemas/user_id") {
		t.Errorf("warnings %v: want the `$ref` at line 25 reported as repaired", c.Warnings())
	}
	// The reference still points at user_id: its pattern applies.
	req := newRequest("GET", "/api/pins.list", "")
	for _, tt := range []struct {
		body  string
		valid bool
	}{
		{`{"C1": {"pinned_by": "U123"}}`, true},
		{`{"C1": {"pinned_by": "nobody"}}`, false},
		{`{"C1": {}}`, false},
	} {
		ps := c.ValidateResponse(req, newResponse(200, tt.body))
		if (len(ps) == 0) != tt.valid {
			t.Errorf("response %s: problems %v, want valid %v", tt.body, ps, tt.valid)
		}
	}
}
