package contracts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// The testdata/ids schemas are laid out as octokit lays out GitHub's:
// relative `$id`s ("issues$opened", "common/issue.schema.json") that
// $ref each other by those ids, not by where their files are.
func TestRefsByID(t *testing.T) {
	c, err := Load("testdata/ids/events.openapi.yaml")
	if err != nil {
		t.Fatalf("a contract whose schemas $ref each other by $id: %v", err)
	}
	valid := `{"action":"opened","issue":{"number":7,"url":"https://api.github.com/repos/o/r/issues{/number}","user":{"login":"a","id":1}},"sender":{"login":"b","id":2}}`
	if fs := c.ValidateEvent("issues.opened", []byte(valid)); len(fs) > 0 {
		t.Fatalf("a valid event: %v", fs)
	}
	bad := `{"action":"opened","issue":{"number":"7","url":"u","user":{"login":"a","id":"x"}},"sender":{"login":"b","id":2}}`
	want := map[string]string{
		"$.issue.number":  "testdata/ids/schemas/common/issue.schema.json:7:17",
		"$.issue.user.id": "testdata/ids/schemas/common/user.schema.json:8:13",
	}
	fs := c.ValidateEvent("issues.opened", []byte(bad))
	if len(fs) != len(want) {
		t.Fatalf("findings = %v; want one at each of %v", fs, want)
	}
	for _, f := range fs {
		if got := f.Position.String(); got != want[f.Path] {
			t.Errorf("finding at %s is placed at %s; want %s, the keyword in the file the $id names", f.Path, got, want[f.Path])
		}
	}
}

// writeTree writes files under a new folder and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const idContract = `openapi: 3.1.0
info: {title: t, version: "1"}
webhooks:
  e:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: schemas/e.schema.json}
      responses: {"200": {description: ok}}
`

func TestRefsByIDErrors(t *testing.T) {
	cases := []struct {
		name   string
		files  map[string]string
		want   string // in the error
		at     string // the error's position
		reason string
	}{
		{
			name: "unknown id",
			files: map[string]string{
				"schemas/e.schema.json": "{\n  \"$id\": \"e\",\n  \"properties\": {\n    \"a\": {\"$ref\": \"common/none.schema.json\"}\n  }\n}\n",
			},
			want:   `no schema under`,
			at:     "schemas/e.schema.json:4:12",
			reason: "a $ref that names neither a file nor an $id is reported in the file that writes it, not in the contract",
		},
		{
			name: "two files, one id",
			files: map[string]string{
				"schemas/e.schema.json":   "{\"$id\": \"e\", \"properties\": {\"a\": {\"$ref\": \"common/a.json\"}}}\n",
				"schemas/x/a.schema.json": "{\"$id\": \"common/a.json\"}\n",
				"schemas/y/a.schema.json": "{\"$id\": \"common/a.json\"}\n",
			},
			want:   "several schemas declare",
			at:     "schemas/e.schema.json:1:36",
			reason: "an $id two files declare names neither",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.files["events.openapi.yaml"] = idContract
			dir := writeTree(t, tc.files)
			_, err := Load(filepath.Join(dir, "events.openapi.yaml"))
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v; want an error saying %q (%s)", err, tc.want, tc.reason)
			}
			got := strings.TrimPrefix(filepath.ToSlash(Position{File: ce.File, Line: ce.Line, Column: ce.Column}.String()), filepath.ToSlash(dir)+"/")
			if got != tc.at {
				t.Errorf("error at %s; want %s (%s)", got, tc.at, tc.reason)
			}
		})
	}
}

// An $id cannot take a $ref out of the root: the ref names a file by
// location first, and that is confined as before.
func TestRefsByIDConfined(t *testing.T) {
	fsys := fstest.MapFS{
		"contracts/schemas/e.schema.json": {Data: []byte(`{"$id": "e", "properties": {"a": {"$ref": "../../../secret.json"}}}`)},
		"secret.json":                     {Data: []byte(`{"const": "TOPSECRET"}`)},
	}
	_, err := Parse("contracts/events.openapi.yaml", []byte(idContract), RefsFrom(fsys, "contracts"))
	if !errors.Is(err, ErrRefOutsideRoot) {
		t.Errorf("a ref climbing out of the root from a file with an $id: %v; want ErrRefOutsideRoot", err)
	}
	// With an absolute $id, a ref by URI finds the file under the root
	// that declares it, and reads nothing remote.
	fsys = fstest.MapFS{
		"contracts/schemas/e.schema.json": {Data: []byte(`{"$id": "https://example.com/s/e.json", "properties": {"a": {"$ref": "https://example.com/s/a.json"}}}`)},
		"contracts/other/a.json":          {Data: []byte(`{"$id": "https://example.com/s/a.json", "type": "integer"}`)},
	}
	c, err := Parse("contracts/events.openapi.yaml", []byte(idContract), RefsFrom(fsys, "contracts"))
	if err != nil {
		t.Fatalf("an absolute $id: %v", err)
	}
	if fs := c.ValidateEvent("e", []byte(`{"a": "x"}`)); len(fs) != 1 || fs[0].File != "contracts/other/a.json" {
		t.Errorf("findings = %v; want one in contracts/other/a.json", fs)
	}
}

// Every GitHub payload example of the corpus validates against octokit's
// schema for its event, the contract $ref-ing the schema files as they are
// published.
func TestCorpusOctokitEvents(t *testing.T) {
	dir := os.Getenv("TETHER_CORPUS")
	if dir == "" {
		t.Skip("TETHER_CORPUS is not set; point it at the shared corpus (../shared/corpus) to test octokit's webhook schemas")
	}
	events := filepath.Join(dir, "events")
	index, err := os.ReadFile(filepath.Join(events, "index.tsv"))
	if err != nil {
		t.Fatalf("the corpus has no events index: %v", err)
	}
	const schemas = "github/payload-schemas/api.github.com/"
	type example struct{ file, event string }
	var examples []example
	hooks := map[string]string{}
	for _, line := range strings.Split(string(index), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) < 7 || !strings.HasPrefix(f[6], schemas) {
			continue
		}
		examples = append(examples, example{f[0], f[2]})
		hooks[f[2]] = strings.TrimPrefix(f[6], schemas)
	}
	if len(examples) < 10 {
		t.Fatalf("the index names %d GitHub examples; want the dozen it holds", len(examples))
	}
	var doc strings.Builder
	doc.WriteString("openapi: 3.1.0\ninfo: {title: GitHub webhooks, version: \"1\"}\nwebhooks:\n")
	for name, schema := range hooks {
		doc.WriteString("  " + name + ":\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: {$ref: " + schema + "}\n      responses: {\"200\": {description: ok}}\n")
	}
	c, err := Parse("events.openapi.yaml", []byte(doc.String()), RefsFrom(os.DirFS(filepath.Join(events, schemas)), "."))
	if err != nil {
		t.Fatalf("a contract $ref-ing octokit's schemas: %v", err)
	}
	for _, ex := range examples {
		payload, err := os.ReadFile(filepath.Join(events, ex.file))
		if err != nil {
			t.Fatal(err)
		}
		if fs := c.ValidateEvent(ex.event, payload); len(fs) > 0 {
			t.Errorf("%s (%s): %d findings, first %v", ex.file, ex.event, len(fs), fs[0])
		}
	}
}
