package contracts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// swaggerPetsOverlay describes a vendor that, unlike swagger_pets.yaml
// says, lists pets with GET (also as a form POST) and reads its own JSON
// media type. Its third action matches nothing.
const swaggerPetsOverlay = `overlay: 1.0.0
info: {title: pets as served, version: "1"}
actions:
  - target: $.paths['/pets']
    update:
      get:
        operationId: listPets
        x-tether-form-post: true
        parameters:
          - {in: query, name: limit, type: integer, required: true}
        responses:
          "200": {description: the pets}
  - target: $
    update:
      x-tether-media-types:
        application/vnd.pets+json;version=2: application/json
  - target: $.paths['/owners']
    update:
      description: gone
`

func TestOverlaySwagger(t *testing.T) {
	plain, err := Load(filepath.Join("testdata", "swagger_pets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "swagger_pets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("swagger_pets.yaml", data, WithOverlay("pets.overlay.yaml", []byte(swaggerPetsOverlay)))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Overlays(); len(got) != 1 || got[0] != "pets.overlay.yaml" {
		t.Errorf("Overlays() = %v", got)
	}
	// Positions point into the Swagger original, not into the overlaid or
	// converted document.
	add, _ := c.Operation("addPet")
	want, _ := plain.Operation("addPet")
	if add == nil || want == nil || add.Line != want.Line || add.Line != 12 {
		t.Errorf("addPet at %v, want line 12 as without the overlay", add)
	}
	list, ok := c.Operation("listPets")
	if !ok {
		t.Fatalf("no listPets; operations %v", c.Operations())
	}
	if list.Line != 11 {
		t.Errorf("listPets at line %d; want 11, the line of its path in the original", list.Line)
	}
	if _, ok := c.Operation("listPets#POST /pets"); ok {
		t.Error("a POST made of listPets where the path has one already")
	}
	var unmatched bool
	for _, w := range c.Warnings() {
		if w.ID == RuleOverlayUnmatched {
			unmatched = true
			if w.File != "pets.overlay.yaml" || w.Line != 17 {
				t.Errorf("unmatched action reported at %s; want pets.overlay.yaml:17", w.Position)
			}
		}
	}
	if !unmatched {
		t.Errorf("warnings %v: want the action on /owners reported as matching nothing", c.Warnings())
	}

	tests := []struct {
		reason      string
		method, url string
		ctype, body string
		departures  int
	}{
		{"a call the original declares departs from nothing", "POST", "/api/pets", "application/json", `{"name": "Rex"}`, 0},
		{"a body in the vendor's media type is read as JSON", "POST", "/api/pets", "application/vnd.pets+json; version=2", `{"name": "Rex"}`, 1},
		{"an operation the original lacks departs", "GET", "/api/pets?limit=2", "", "", 1},
	}
	for _, tc := range tests {
		r := newRequest(tc.method, tc.url, tc.body)
		if tc.ctype != "" {
			r.Header.Set("Content-Type", tc.ctype)
		}
		m, fs := c.ValidateRequest(r)
		if m == nil {
			t.Errorf("%s: no operation: %v", tc.reason, fs)
			continue
		}
		var deps []Finding
		for _, f := range fs {
			switch {
			case f.ID == RuleOverlayDeparture:
				deps = append(deps, f)
			case f.Level == LevelError:
				t.Errorf("%s: %s", tc.reason, f)
			}
		}
		if len(deps) != tc.departures {
			t.Errorf("%s: departures %v, want %d", tc.reason, deps, tc.departures)
		}
		for _, d := range deps {
			if d.Level != LevelInfo || d.File != "swagger_pets.yaml" || d.Line == 0 || !strings.Contains(d.Hint, "pets.overlay.yaml") {
				t.Errorf("%s: departure %+v: want info, in swagger_pets.yaml with a line, naming the overlay", tc.reason, d)
			}
		}
	}
}

func TestOverlayOpenAPIKeepsPositions(t *testing.T) {
	path := filepath.Join("testdata", "petstore.yaml")
	plain, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ov := "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.paths.*.get\n    update:\n      x-tether-form-post: true\n"
	c, err := Load(path, WithOverlay("get-post.overlay.yaml", []byte(ov)))
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range plain.Operations() {
		got, ok := c.Operation(op.ID)
		if !ok || got.Line != op.Line || got.Column != op.Column {
			t.Errorf("%s: at %v with the overlay, %d:%d without", op.ID, got, op.Line, op.Column)
		}
	}
	// Every GET gained a POST, except where the path has one already.
	if n, m := len(c.Operations()), len(plain.Operations()); n <= m {
		t.Errorf("%d operations with the overlay, %d without; want POSTs made of the GETs", n, m)
	}
}

func TestOverlayRefused(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "petstore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		reason, overlay, want string
	}{
		{"not an overlay", "openapi: 3.0.3\n", "bad.overlay.yaml:1: not an OpenAPI Overlay"},
		{"invalid YAML", "overlay: [\n", "bad.overlay.yaml:"},
		{"a bad JSONPath names the action", "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.paths[?\n    update: {x: 1}\n", "bad.overlay.yaml:4"},
	}
	for _, tc := range tests {
		_, err := Parse("petstore.yaml", data, WithOverlay("bad.overlay.yaml", []byte(tc.overlay)))
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an *Error with %q", tc.reason, err, tc.want)
		}
	}
}

// FuzzOverlay applies arbitrary overlays to a small contract: an error or
// a contract, never a panic.
func FuzzOverlay(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "swagger_pets.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(swaggerPetsOverlay))
	f.Add([]byte("overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $..*\n    remove: true\n"))
	f.Add([]byte("overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.paths.*.*\n    update: {x-tether-form-post: true}\n"))
	f.Fuzz(func(t *testing.T, ov []byte) {
		c, err := Parse("swagger_pets.yaml", data, WithOverlay("f.overlay.yaml", ov))
		if err == nil && c == nil {
			t.Fatal("no contract and no error")
		}
	})
}
