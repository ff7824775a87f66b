package contracts

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzParse feeds arbitrary documents to the loader: it may refuse them,
// but only with an *Error naming the document, and never by panicking.
// The seeds are the package's own contracts, its broken documents, and, when
// TETHER_CORPUS is set, the small corpus contracts.
//
//	go test ./contracts -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "testdata/bad/*", "testdata/shared/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	if dir := os.Getenv("TETHER_CORPUS"); dir != "" {
		// Only the mid-size contract: the fuzzer mutates every seed, and
		// multi-megabyte seeds make each execution take seconds.
		if data, err := os.ReadFile(filepath.Join(dir, "specs", "twilio-messaging-v1.yaml")); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/a/{b}.json":{"get":{"responses":{"200":{"description":"ok"}}}}}}`))
	f.Add([]byte("swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n"))
	f.Add([]byte("openapi: 3.0.0\npaths:\n  /x:\n    $ref: '#/paths/~1x'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			requireLocated(t, err)
			return
		}
		// A loaded contract must answer lookups without panicking.
		for _, op := range c.Operations() {
			if _, err := c.Find(op.Method, op.Path); err != nil {
				var le *LookupError
				if !errors.As(err, &le) {
					t.Fatalf("Find(%s %s): %T %v", op.Method, op.Path, err, err)
				}
			}
		}
		c.Find("GET", "/%zz/../x?y")
	})
}

// FuzzLoadSchema feeds arbitrary JSON Schema documents and payloads.
func FuzzLoadSchema(f *testing.F) {
	f.Add([]byte(`{"type":"object","required":["a"],"properties":{"a":{"type":"string","format":"uri-template"}}}`), []byte(`{"a":"x{/y}"}`))
	f.Add([]byte(`{"$ref":"other.json"}`), []byte(`{}`))
	f.Add([]byte(`{"type":"array","items":{"pattern":"^a+$"}}`), []byte(`["aa","b"]`))
	f.Add([]byte(`not json`), []byte(`[`))
	f.Fuzz(func(t *testing.T, schema, payload []byte) {
		path := filepath.Join(t.TempDir(), "s.json")
		if err := os.WriteFile(path, schema, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := LoadSchema(path)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			return
		}
		for _, p := range s.Validate(payload) {
			if p.ID != RulePayloadInvalid || p.Path == "" {
				t.Fatalf("problem %v lacks its rule or path", p)
			}
		}
	})
}

// FuzzURITemplate checks the RFC 6570 syntax check never panics and accepts
// what it builds from valid pieces.
func FuzzURITemplate(f *testing.F) {
	for _, s := range []string{"https://x/{/privacy}", "{a,b*,c:3}", "x{", "}", "{}", "{+path}/here", "{?q,r}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = validateURITemplate(s)
	})
}

// FuzzLoadEvents feeds arbitrary events documents (OpenAPI webhooks,
// AsyncAPI 2.x and 3.x) and a schema file they may $ref by location or by
// `$id`: the loader may refuse them, but only with an *Error or Errors,
// and what it loads validates payloads without panicking.
//
//	go test ./contracts -run '^$' -fuzz FuzzLoadEvents -fuzztime 60s
func FuzzLoadEvents(f *testing.F) {
	for _, pattern := range []string{"testdata/events/*.yaml", "testdata/ids/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data, []byte(`{"$id": "common/x.schema.json", "type": "object"}`), []byte(`{"id": 1}`))
			}
		}
	}
	f.Add([]byte(idContract), []byte(`{"$id": "e", "properties": {"a": {"$ref": "common/a.json#/x"}}}`), []byte(`{"a": 1}`))
	f.Add([]byte("asyncapi: 1.2.0\n"), []byte(`{}`), []byte(`{}`))
	f.Add([]byte("asyncapi: 2.6.0\nchannels: {a: {publish: {message: {oneOf: [{messageId: m, payload: {$ref: 'schemas/e.schema.json'}}]}}}}\n"), []byte(`{"$id": "https://x/e"}`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, doc, schema, payload []byte) {
		fsys := fstest.MapFS{
			"schemas/e.schema.json":           {Data: schema},
			"schemas/common/a.json":           {Data: []byte(`{"$id": "common/a.json", "x": {"type": "integer"}}`)},
			"schemas/common/user.schema.json": {Data: schema},
		}
		ec, err := ParseEvents("events.yaml", doc, RefsFrom(fsys, "."))
		if err != nil {
			requireLocated(t, err)
			return
		}
		for _, name := range ec.Events() {
			for _, p := range ec.ValidateEvent(name, payload) {
				if p.ID == "" || p.File == "" {
					t.Fatalf("finding %v lacks its rule or file", p)
				}
			}
		}
	})
}

// requireLocated fails the test unless err is one of the package's located
// errors, which name file, line and column.
func requireLocated(t *testing.T, err error) {
	t.Helper()
	var e *Error
	var es Errors
	if !errors.As(err, &e) && !errors.As(err, &es) {
		t.Fatalf("error %T %v is not an *Error or Errors", err, err)
	}
}
