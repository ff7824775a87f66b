package contracts

import (
	"bytes"
	"testing"

	"github.com/pb33f/go-yaml"
)

// FuzzScanLayout feeds arbitrary documents to the segment scanner. It may
// refuse them, but never panics, and what it divides it divides right:
// spans in order and inside the file, and, when the document parses, one
// span per member of `paths`, each starting with that member's key.
//
//	go test ./contracts -run '^$' -fuzz FuzzScanLayout -fuzztime 60s
func FuzzScanLayout(f *testing.F) {
	f.Add(bigContract(12, nil))
	f.Add(bytes.ReplaceAll(bigContract(8, nil), []byte("\n"), []byte("\r\n")))
	f.Add([]byte(`{"openapi":"3.1.0","paths":{"/a":{"get":{}},"/b/{c}":{"post":{}}},"components":{}}`))
	f.Add([]byte("{\n \"paths\": {\n  \"/a\": {},\n  \"/b\": {\"x\": [1, \"}\"]}\n }\n}\n"))
	f.Add([]byte("openapi: 3.0.0\npaths:\n  /a: {get: {responses: {\n  '200': {description: ok}}}}\n  /b:\n    get: {}\n"))
	f.Add([]byte("paths:\n  '/a''s':\n    x: 1\n  \"/b\\\"\": # c\n    y: \"multi\n  line: no\"\n"))
	f.Add([]byte("paths:\n  /a:\n    get: &x {}\n  /b:\n    get: *x\n"))
	f.Add([]byte("---\npaths:\n  /a: 1\n---\npaths:\n  /b: 2\n"))
	f.Add([]byte("paths:\n\t/a: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := scanLayout(data)
		if err != nil {
			return
		}
		prev := 0
		for i, it := range l.items {
			if it.start < prev || it.end < it.start || it.end > len(data) {
				t.Fatalf("item %d spans [%d, %d) after %d in %d bytes", i, it.start, it.end, prev, len(data))
			}
			prev = it.end
		}
		var root yaml.Node
		if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
			return
		}
		var paths *yaml.Node
		for i := 0; i+1 < len(root.Content[0].Content); i += 2 {
			if root.Content[0].Content[i].Value == "paths" {
				paths = root.Content[0].Content[i+1]
			}
		}
		if paths == nil || paths.Kind != yaml.MappingNode {
			t.Fatalf("divided into %d items, but `paths` is not a mapping", len(l.items))
		}
		if got, want := len(l.items), len(paths.Content)/2; got != want {
			t.Fatalf("divided into %d items; `paths` has %d members", got, want)
		}
		for i, it := range l.items {
			key := paths.Content[2*i]
			body := data[it.start:it.end]
			line, _ := lineCol(data, it.start+len(body)-len(bytes.TrimLeft(body, " \t\r\n,")))
			if line != key.Line {
				t.Fatalf("item %d starts at line %d; its key %q is at line %d", i, line, key.Value, key.Line)
			}
		}
	})
}
