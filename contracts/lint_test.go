package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pb33f/go-yaml"
)

// bigContract writes an OpenAPI 3.0 contract of n path items in the
// shapes a segment scanner must divide: quoted keys, flow collections
// over several lines, comments between items, an extension among them,
// operationIds repeated far apart, templates that clash across segments,
// and a circular schema in the components. plant may add lines to item i.
func bigContract(n int, plant func(i int) string) []byte {
	var b bytes.Buffer
	b.WriteString("# a generated contract\nopenapi: 3.0.3\ninfo: {title: Big, version: 1.0.0}\nservers:\n  - url: https://api.big.example/v1\npaths:\n")
	for i := range n {
		switch {
		case i == 2:
			b.WriteString("  /c/{id}:\n    get:\n      operationId: dup\n      responses: {\"200\": {description: ok}}\n")
		case i == n-3:
			b.WriteString("  /c/{name}/:\n    get:\n      operationId: dup\n      responses: {\"200\": {description: ok}}\n")
		case i == n/2:
			b.WriteString("  x-note: between the items\n")
		case i%7 == 0:
			fmt.Fprintf(&b, "  /f%d/{id}:\n    get: {operationId: getF%d, responses: {\"200\": {description: ok,\n      content: {application/json: {schema: {$ref: \"#/components/schemas/Node\"}}}}}}\n", i, i)
		case i%5 == 0:
			fmt.Fprintf(&b, "  \"/q%d/{id}\": # quoted\n    post:\n      summary: 'it''s item %d: quoted'\n      responses:\n        \"201\": {description: made}\n# a comment in column 0\n", i, i)
		default:
			fmt.Fprintf(&b, "  /r%d/items/{id}:\n    get:\n      operationId: get%d\n      parameters:\n        - {name: id, in: path, required: true, schema: {type: string}}\n      responses:\n        \"200\":\n          description: |\n            ok: a block scalar\n              /not/an/item: no\n          content:\n            application/json:\n              schema: {$ref: \"#/components/schemas/Item\"}\n", i, i)
		}
		if plant != nil {
			b.WriteString(plant(i))
		}
	}
	b.WriteString("components:\n  schemas:\n    Item:\n      type: object\n      properties:\n        id: {type: string}\n    Node:\n      type: object\n      required: [next]\n      properties:\n        next: {$ref: \"#/components/schemas/Node\"}\n")
	return b.Bytes()
}

// asJSON rewrites a YAML contract as JSON, indented or not.
func asJSON(t *testing.T, data []byte, indent bool) []byte {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if indent {
		out, err = json.MarshalIndent(v, "", "  ")
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lintBothWays lints data whole and in segments of about 2 KB.
func lintBothWays(t *testing.T, name string, data []byte) (whole, parts *LintReport, wholeErr, partsErr error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	whole, wholeErr = Lint(file)
	parts, partsErr = Lint(file, segmentedLint(0, 2<<10))
	if parts != nil && parts.segments < 4 {
		t.Fatalf("%s was checked in %d segments; the test needs several", name, parts.segments)
	}
	return whole, parts, wholeErr, partsErr
}

var cmpReport = cmpopts.IgnoreUnexported(LintReport{})

func TestLintInSegmentsFindsWhatWholeFinds(t *testing.T) {
	yml := bigContract(120, nil)
	for _, tc := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"big.yaml", yml, "block YAML with flow collections, comments, quoted keys"},
		{"big.json", asJSON(t, yml, true), "indented JSON: the segments start mid-line"},
		{"big-min.json", asJSON(t, yml, false), "JSON on one line: only columns tell places apart"},
		{"crlf.yaml", bytes.ReplaceAll(yml, []byte("\n"), []byte("\r\n")), "CRLF line ends"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			whole, parts, werr, perr := lintBothWays(t, tc.name, tc.data)
			if werr != nil || perr != nil {
				t.Fatalf("%s: whole: %v; in segments: %v", tc.reason, werr, perr)
			}
			if len(whole.Warnings) < 3 {
				t.Fatalf("whole lint found only %v; the test plants a repeated ID, a clash and a cycle", whole.Warnings)
			}
			if d := cmp.Diff(whole, parts, cmpReport); d != "" {
				t.Errorf("%s: in segments (-whole +segments):\n%s", tc.reason, d)
			}
		})
	}
}

func TestLintInSegmentsSwagger(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("swagger: \"2.0\"\ninfo: {title: Pets, version: \"1\"}\nbasePath: /api\npaths:\n")
	for i := range 60 {
		fmt.Fprintf(&b, "  /pets%d/{id}:\n    get:\n      operationId: get%d\n      parameters:\n        - {name: id, in: path, required: true, type: string}\n      responses:\n        \"200\":\n          description: ok\n          schema:\n            type: object\n            items:\n              - {$ref: \"#/definitions/Pet\"}\n", i, i%50)
	}
	b.WriteString("definitions:\n  Pet:\n    type: object\n    properties:\n      name: {type: string}\n")
	whole, parts, werr, perr := lintBothWays(t, "swagger.yaml", b.Bytes())
	if werr != nil || perr != nil {
		t.Fatalf("whole: %v; in segments: %v", werr, perr)
	}
	if !parts.Converted || len(whole.Warnings) < 60 {
		t.Fatalf("converted %v, %d warnings; want Swagger repairs on every item and repeated IDs", parts.Converted, len(whole.Warnings))
	}
	if d := cmp.Diff(whole, parts, cmpReport); d != "" {
		t.Errorf("in segments (-whole +segments):\n%s", d)
	}
}

// lineOf returns the 1-based line of the first occurrence of s in data.
func lineOf(t *testing.T, data []byte, s string) int {
	t.Helper()
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		t.Fatalf("%q is not in the document", s)
	}
	return 1 + bytes.Count(data[:i], []byte("\n"))
}

func TestLintInSegmentsPlacesErrorsInTheFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		plant  string
		at     int // the item after which it is planted
		marker string
		reason string
	}{
		{"broken-ref.yaml", "  /late/broken:\n    get:\n      responses:\n        \"200\": {$ref: \"#/components/responses/Gone\"}\n", 100, "#/components/responses/Gone",
			"a $ref that does not resolve, in a late segment"},
		{"two-broken-refs.yaml", "  /late/broken{i}:\n    get:\n      responses:\n        \"200\": {$ref: \"#/components/responses/Gone{i}\"}\n", -1, "#/components/responses/Gone",
			"broken $refs in every segment: all are reported, in file order"},
		{"syntax.yaml", "  /late/bad:\n    get:\n      responses: {\"200\": {description: ok}\n", 100, "/late/bad",
			"a flow mapping left open, in a late segment"},
		{"bad-indent.yaml", "  /late/indent:\n    get:\n      responses:\n       \"200\":\n         description: ok\n        bad: 1\n", 100, "bad: 1",
			"an indentation error, in a late segment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := bigContract(120, func(i int) string {
				if tc.at < 0 && i%30 == 29 || i == tc.at {
					return strings.ReplaceAll(tc.plant, "{i}", fmt.Sprint(i))
				}
				return ""
			})
			_, _, werr, perr := lintBothWays(t, tc.name, data)
			if werr == nil || perr == nil {
				t.Fatalf("%s: whole: %v; in segments: %v; want errors", tc.reason, werr, perr)
			}
			if werr.Error() != perr.Error() {
				t.Errorf("%s:\nwhole:       %v\nin segments: %v", tc.reason, werr, perr)
			}
			var es Errors
			var e *Error
			switch {
			case errors.As(perr, &es):
				e = es[0]
			case !errors.As(perr, &e):
				t.Fatalf("%T %v is not an *Error", perr, perr)
			}
			if want := lineOf(t, data, tc.marker); e.Line < want-3 || e.Line > want+3 {
				t.Errorf("%s: the error is at line %d, the planted text at %d", tc.reason, e.Line, want)
			}
		})
	}
}

func TestLintSmallFileIsLoadedWhole(t *testing.T) {
	file := filepath.Join(t.TempDir(), "small.yaml")
	if err := os.WriteFile(file, bigContract(40, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Lint(file)
	if err != nil {
		t.Fatal(err)
	}
	if rep.segments != 1 {
		t.Errorf("a small contract was checked in %d segments", rep.segments)
	}
}

func TestLintFallsBackWhenItemsCannotBeDivided(t *testing.T) {
	for _, tc := range []struct {
		doc    string
		reason string
	}{
		{"openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {/a: {get: {responses: {'200': {description: ok}}}}, /b: {get: {responses: {'200': {description: ok}}}}}\n", "flow-style paths"},
		{"openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get: &op\n      responses: {'200': {description: ok}}\n  /b:\n    get: *op\n", "an anchor shared by two items"},
	} {
		file := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(file, []byte(tc.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := scanLayout([]byte(tc.doc)); !errors.Is(err, errNoLayout) {
			t.Errorf("%s: the scanner divided it (%v)", tc.reason, err)
		}
		rep, err := Lint(file, segmentedLint(0, 1))
		if err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		if rep.segments != 1 || rep.Operations != 2 {
			t.Errorf("%s: %d segments, %d operations; want it loaded whole, with 2", tc.reason, rep.segments, rep.Operations)
		}
	}
}

// TestLintCorpusInSegments lints the vendors' contracts whole and in about
// four segments each, which must find the same: these hold what generated
// contracts do not (Swagger 2.0 repairs, OpenAPI 3.1, cycles met from many
// operations, servers with variables, components larger than the paths).
func TestLintCorpusInSegments(t *testing.T) {
	dir := corpusDir(t)
	for _, s := range corpusSpecs {
		t.Run(s.file, func(t *testing.T) {
			file := filepath.Join(dir, "specs", s.file)
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			l, err := scanLayout(data)
			if err != nil {
				t.Fatalf("the scanner cannot divide %s: %v", s.reason, err)
			}
			size := (l.itemsEnd() - l.itemsStart()) / 4
			whole, werr := Lint(file)
			parts, perr := Lint(file, segmentedLint(0, -int64(size)))
			if werr != nil || perr != nil {
				t.Fatalf("whole: %v; in segments: %v", werr, perr)
			}
			if parts.segments < 3 {
				t.Fatalf("checked in %d segments", parts.segments)
			}
			if d := cmp.Diff(whole, parts, cmpReport); d != "" {
				t.Errorf("%s, in segments (-whole +segments):\n%s", s.reason, d)
			}
		})
	}
}

func TestLintInSegmentsPlacesJSONErrorsInTheFile(t *testing.T) {
	data := bigContract(120, func(i int) string {
		if i%30 == 29 {
			return fmt.Sprintf("  /late/broken%d:\n    get:\n      responses:\n        \"200\": {$ref: \"#/components/responses/Gone%d\"}\n", i, i)
		}
		return ""
	})
	for _, indent := range []bool{true, false} {
		name := fmt.Sprintf("broken-indent-%v.json", indent)
		js := asJSON(t, data, indent)
		_, _, werr, perr := lintBothWays(t, name, js)
		if werr == nil || perr == nil {
			t.Fatalf("%s: whole: %v; in segments: %v; want errors", name, werr, perr)
		}
		if werr.Error() != perr.Error() {
			t.Errorf("%s:\nwhole:       %v\nin segments: %v", name, werr, perr)
		}
		// A whole load reports one error a line: all four when indented,
		// one when the document is a single line.
		want := 4
		if !indent {
			want = 1
		}
		var es Errors
		if !errors.As(perr, &es) || len(es) != want {
			t.Fatalf("%s: %v; want %d errors", name, perr, want)
		}
		for _, e := range es {
			line, col := lineCol(js, bytes.Index(js, []byte(`"#/components/responses/Gone`)))
			if !indent && (e.Line != 1 || e.Column < col-30) || indent && e.Line < line-1 {
				t.Errorf("%s: %v is before the first broken $ref, at %d:%d", name, e, line, col)
			}
		}
	}
}
