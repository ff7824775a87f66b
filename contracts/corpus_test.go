package contracts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// corpusDir returns $TETHER_CORPUS, or skips: the corpus of real vendor
// material lives beside the project, not in it.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("TETHER_CORPUS")
	if dir == "" {
		t.Skip("TETHER_CORPUS is not set; point it at the shared corpus (../shared/corpus) to test real vendor contracts")
	}
	if _, err := os.Stat(filepath.Join(dir, "specs")); err != nil {
		t.Fatalf("TETHER_CORPUS=%s has no specs folder: %v", dir, err)
	}
	return dir
}

// corpusSpecs are the OpenAPI and Swagger documents of the corpus, with what
// each must show once loaded.
var corpusSpecs = []struct {
	file      string
	version   string
	converted bool
	minOps    int
	reason    string
}{
	{"stripe-spec3-2023-08-16.yaml", "3.0.0", false, 400, "4 MB YAML with ref cycles and no examples"},
	{"github-api.github.com-v0.0.6.json", "3.0.3", false, 500, "3 MB JSON with many examples"},
	{"slack-web-openapi-v2.json", "2.0", true, 170, "Swagger 2.0, converted on load"},
	{"discord-openapi.json", "3.1.0", false, 150, "OpenAPI 3.1 with type arrays"},
	{"twilio-api-v2010.json", "3.0.1", false, 150, "paths with .json suffixes"},
	{"twilio-messaging-v1.yaml", "3.0.1", false, 50, "mid-size YAML"},
	{"datadog-v1-openapi.yaml", "3.0.0", false, 100, "server variables and ref cycles"},
}

// loadCorpus loads every corpus contract once per test binary.
var loadCorpus = sync.OnceValues(func() (map[string]*Contract, error) {
	dir := os.Getenv("TETHER_CORPUS")
	reg := NewRegistry()
	out := map[string]*Contract{}
	for _, s := range corpusSpecs {
		c, err := reg.Load(filepath.Join(dir, "specs", s.file))
		if err != nil {
			return nil, err
		}
		out[s.file] = c
	}
	return out, nil
})

func TestCorpusContractsLoad(t *testing.T) {
	corpusDir(t)
	cs, err := loadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range corpusSpecs {
		c := cs[s.file]
		if c.OpenAPIVersion() != s.version || c.Converted() != s.converted {
			t.Errorf("%s: version %q converted %v, want %q %v (%s)", s.file, c.OpenAPIVersion(), c.Converted(), s.version, s.converted, s.reason)
		}
		if n := len(c.Operations()); n < s.minOps {
			t.Errorf("%s: %d operations, want at least %d (%s)", s.file, n, s.minOps, s.reason)
		}
		t.Logf("%s: %d operations, %d warnings", s.file, len(c.Operations()), len(c.Warnings()))
	}
}

func TestCorpusAsyncAPIRejected(t *testing.T) {
	dir := corpusDir(t)
	path := filepath.Join(dir, "specs", "slack-events-api-asyncapi-v1.json")
	_, err := Load(path)
	if !errors.Is(err, ErrNotOpenAPI) {
		t.Fatalf("Load(%s) = %v, want ErrNotOpenAPI", path, err)
	}
	const want = "this is AsyncAPI 1.2.0; tether reads OpenAPI 2.0/3.x"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Line == 0 || e.File != path {
		t.Errorf("error %#v does not name the file and line", err)
	}
}

// TestCorpusEvents validates the corpus's real webhook payloads: GitHub's
// against their published JSON Schemas, Stripe's event against the event
// schema of Stripe's contract.
func TestCorpusEvents(t *testing.T) {
	dir := corpusDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "events", "index.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		cols := strings.Split(line, "\t")
		if i == 0 || len(cols) < 7 || !strings.HasPrefix(cols[0], "github/") {
			continue
		}
		schema, err := LoadSchema(filepath.Join(dir, "events", cols[6]))
		if err != nil {
			t.Errorf("%s: %v", cols[6], err)
			continue
		}
		payload, err := os.ReadFile(filepath.Join(dir, "events", cols[0]))
		if err != nil {
			t.Fatal(err)
		}
		if ps := schema.Validate(payload); len(ps) > 0 {
			t.Errorf("%s against %s: %d problems, first %v", cols[0], cols[6], len(ps), ps[0])
		}
		// A broken copy must fail, at the path that was broken.
		broken := strings.Replace(string(payload), `"sender": {`, `"sender": 7, "x": {`, 1)
		if ps := schema.Validate([]byte(broken)); len(ps) == 0 {
			t.Errorf("%s with sender replaced by a number still validates", cols[0])
		} else if ps[0].Line == 0 || !strings.HasSuffix(ps[0].File, ".json") {
			t.Errorf("%s: problem %v is not located in a schema file", cols[0], ps[0])
		}
		checked++
	}
	if checked < 10 {
		t.Errorf("checked %d GitHub payloads, want the 13 of the corpus", checked)
	}
	t.Logf("%d GitHub payloads validate against their schemas", checked)
}
