package contracts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustLoad(t testing.TB, path string, opts ...Option) *Contract {
	t.Helper()
	c, err := Load(path, opts...)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return c
}

// TestLoadRemoteRefsAsData loads a contract whose examples hold "$ref"
// members with URLs, as GitHub's SCIM examples do:
// they are data, and remote references being off does not refuse them.
func TestLoadRemoteRefsAsData(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "scim_example_refs.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.Operations()) != 1 {
		t.Errorf("%d operations, want 1", len(c.Operations()))
	}
}

func TestLoadBadDocuments(t *testing.T) {
	tests := []struct {
		file   string
		line   int
		want   string // in the message
		is     error  // errors.Is target, or nil
		reason string
	}{
		{"invalid_yaml.yaml", 3, "invalid YAML", nil, "a flow sequence left open"},
		{"invalid_json.json", 3, "invalid JSON", nil, "a doubled comma; encoding/json names the offset"},
		{"missing_version.yaml", 1, "missing the `openapi` or `swagger` field", ErrNotOpenAPI, "no version field at all"},
		{"asyncapi.yaml", 1, "this is AsyncAPI 2.6.0; tether reads OpenAPI 2.0/3.x", ErrNotOpenAPI, "AsyncAPI is named as such"},
		{"json_schema.json", 1, "this is a JSON Schema", ErrNotOpenAPI, "a payload schema given as a contract"},
		{"broken_ref.yaml", 12, "#/components/schemas/Missing", nil, "a local $ref to nothing"},
		{"broken_file_ref.yaml", 12, "nowhere.yaml", nil, "a relative-file $ref to a missing file"},
		{"remote_ref.yaml", 12, "remote $ref https://schemas.example.com/thing.yaml#/Thing is not allowed", ErrRemoteRef, "remote refs are off by default"},
		{"remote_ref_in_examples.yaml", 14, "remote $ref https://schemas.example.com/examples.yaml#/Groups is not allowed", ErrRemoteRef, "an Example object may be a reference"},
		{"remote_ref_property_example.yaml", 14, "remote $ref https://schemas.example.com/thing.yaml#/Thing is not allowed", ErrRemoteRef, "a property named example is a schema, not a value"},
		{"future_version.yaml", 1, `this is OpenAPI "4.0.0"`, ErrNotOpenAPI, "a version tether does not read"},
		{"not_mapping.yaml", 1, "not a mapping", ErrNotOpenAPI, "a YAML list"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) succeeded; want an error (%s)", path, tt.reason)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q (%s)", err, tt.want, tt.reason)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v (%s)", err, tt.is, tt.reason)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error (%s)", err, tt.reason)
			}
			if e.File != path || e.Line != tt.line {
				t.Errorf("located at %s:%d, want %s:%d (%s)", e.File, e.Line, path, tt.line, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), path+":") {
				t.Errorf("message %q does not start with the file name", err)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "   \n\t", "\n\n"} {
		_, err := Parse("empty.yaml", []byte(data))
		if !errors.Is(err, ErrNotOpenAPI) || !strings.Contains(err.Error(), "empty") {
			t.Errorf("Parse(%q) = %v, want an empty-document error", data, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "no-such-file.yaml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "no-such-file.yaml") {
		t.Errorf("Load of a missing file = %v; want it to wrap os.ErrNotExist and name the file", err)
	}
}

func TestLoadRelativeRefs(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
	if got := len(c.Operations()); got != 6 {
		t.Fatalf("%d operations, want 6", got)
	}
	// The same bytes parsed without a base folder cannot resolve the file ref.
	data, err := os.ReadFile(filepath.Join("testdata", "petstore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("petstore.yaml", data); err == nil || !strings.Contains(err.Error(), "pet.yaml") {
		t.Errorf("Parse without RefsRelativeTo = %v, want a broken-ref error naming pet.yaml", err)
	}
	if _, err := Parse("petstore.yaml", data, RefsRelativeTo("testdata")); err != nil {
		t.Errorf("Parse with RefsRelativeTo: %v", err)
	}
}

func TestLoadCircularIsWarning(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "circular.yaml"))
	ws := c.Warnings()
	if len(ws) == 0 {
		t.Fatal("no warning for a schema that requires itself")
	}
	for _, w := range ws {
		if w.ID != RuleCircularReference || w.Level != LevelWarning {
			t.Errorf("warning %v, want %s at level warning", w, RuleCircularReference)
		}
	}
	if _, ok := c.Operation("listNodes"); !ok {
		t.Error("the contract is unusable after a circular-reference warning")
	}
}

func TestLoadServers(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "petstore.yaml"))
	ss := c.Servers()
	if len(ss) != 1 {
		t.Fatalf("servers %v, want one", ss)
	}
	want := Server{URL: "https://{region}.pets.example.com/{version}", Resolved: "https://eu.pets.example.com/v1", BasePath: "/v1"}
	if ss[0] != want {
		t.Errorf("server %+v, want %+v", ss[0], want)
	}
}

func TestLoadSwaggerConverted(t *testing.T) {
	path := filepath.Join("testdata", "swagger_pets.yaml")
	c := mustLoad(t, path)
	if !c.Converted() || c.OpenAPIVersion() != "2.0" {
		t.Errorf("Converted %v Version %q, want a converted 2.0 document", c.Converted(), c.OpenAPIVersion())
	}
	op, ok := c.Operation("addPet")
	if !ok {
		t.Fatal("operation addPet is missing after conversion")
	}
	// Locations point into the Swagger file, not the converted document.
	if op.Line != 12 {
		t.Errorf("addPet declared at line %d, want 12 of %s", op.Line, path)
	}
	if ss := c.Servers(); len(ss) != 1 || ss[0].BasePath != "/api" {
		t.Errorf("servers %+v, want one with base path /api", ss)
	}
	var repaired bool
	for _, w := range c.Warnings() {
		if w.ID == RuleSwaggerRepaired && w.Line == 33 {
			repaired = true
		}
	}
	if !repaired {
		t.Errorf("warnings %v: want the tuple `items` at line 33 reported as repaired", c.Warnings())
	}
}

func TestRegistryParsesOnce(t *testing.T) {
	reg := NewRegistry()
	path := filepath.Join("testdata", "petstore.yaml")
	var wg sync.WaitGroup
	got := make([]*Contract, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := reg.Load(path)
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		}()
	}
	wg.Wait()
	abs, _ := filepath.Abs(path)
	again, _ := reg.Load(abs)
	for _, c := range got {
		if c != got[0] || again != got[0] {
			t.Fatal("the registry returned different contracts for one file")
		}
	}
}
