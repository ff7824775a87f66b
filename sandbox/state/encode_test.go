package state

import (
	"encoding/json"
	"maps"
	"regexp"
	"strconv"
	"testing"

	"github.com/tetherkit/tether/contracts"
)

// An item written from its template's fields is byte for byte what
// encoding/json writes of it, whatever was set, replaced or removed.
func TestEncodeObjectLikeMarshal(t *testing.T) {
	var tmpl map[string]any
	if err := decode([]byte(`{"id":"x","name":"<a & b>","tags":["t"],"meta":{"k":"v"},"n":1.5,"ok":true,"none":null,"empty":[]}`), &tmpl); err != nil {
		t.Fatal(err)
	}
	like := &itemEncoding{src: tmpl}
	for _, tc := range []struct {
		reason string
		change func(m map[string]any)
	}{
		{"the template as it is", func(map[string]any) {}},
		{"a field set", func(m map[string]any) { m["id"] = "wid_1"; m["ok"] = false }},
		{"a field added, sorting first", func(m map[string]any) { m["aaa"] = json.Number("3") }},
		{"a field removed", func(m map[string]any) { delete(m, "meta") }},
		{"an object replaced by an equal copy", func(m map[string]any) { m["meta"] = map[string]any{"k": "v"} }},
		{"an array replaced by nil", func(m map[string]any) { m["empty"] = []any(nil) }},
	} {
		obj := maps.Clone(tmpl)
		tc.change(obj)
		got, err := encodeObject(obj, like)
		if err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		want, _ := json.Marshal(obj)
		if string(got) != string(want) {
			t.Errorf("%s: wrote %s\nwant %s", tc.reason, got, want)
		}
	}
}

// An identifier pattern of a prefix and one repeated class is drawn
// directly; every string drawn matches it, and other forms are left to
// the pattern's generator.
func TestSimplePatternDraw(t *testing.T) {
	for _, tc := range []struct {
		pattern, prefix string
		n               int
		reason          string
	}{
		{"^MG[0-9a-fA-F]{32}$", "MG", 32, "Twilio's service ids"},
		{"^[a-z]{8}$", "", 8, "no prefix"},
		{"^cus_[A-Za-z0-9]{14}$", "cus_", 14, "a prefix with a mark"},
		{"^MG[0-9a-f]{32}", "", 0, "no end anchor"},
		{"^(MG|SV)[0-9]{4}$", "", 0, "an alternation"},
		{"^MG[0-9]{2,4}$", "", 0, "a length range"},
		{"^MG[^a]{4}$", "", 0, "a negated class reaches past ASCII"},
	} {
		sp := simpleOf(tc.pattern)
		if sp.n != tc.n || sp.prefix != tc.prefix {
			t.Errorf("%s: %q read as %+v, want prefix %q and %d", tc.reason, tc.pattern, sp, tc.prefix, tc.n)
			continue
		}
		if sp.n == 0 {
			continue
		}
		g := IDShape{Type: "string", Pattern: tc.pattern}.Generator(7)
		g.simple = sp
		re := regexp.MustCompile(tc.pattern)
		for i := range 200 {
			if s := g.shapeDraw(g.rng); !re.MatchString(s) {
				t.Fatalf("%s: draw %d %q does not match %s", tc.reason, i, s, tc.pattern)
			}
		}
		// Draws are taken unmatched only where they fit the compiled
		// pattern and the length bounds.
		pat, err := contracts.CompilePattern(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		n := len(tc.prefix) + tc.n
		if !sp.fits(pat, n, n) || !sp.fits(pat, 0, -1) {
			t.Errorf("%s: draws of %d characters are not taken as fitting %s", tc.reason, n, tc.pattern)
		}
		if sp.fits(pat, n+1, -1) || sp.fits(pat, 0, n-1) {
			t.Errorf("%s: draws of %d characters are taken as fitting bounds that refuse them", tc.reason, n)
		}
		if other, _ := contracts.CompilePattern("^" + tc.prefix + "[0-9]{" + strconv.Itoa(tc.n) + "}$"); sp.fits(other, 0, -1) {
			t.Errorf("%s: draws are taken as fitting a pattern of digits only", tc.reason)
		}
	}
}

// A field is written byte for byte as encoding/json writes its name and
// value, whatever the characters.
func FuzzEncodeField(f *testing.F) {
	for _, s := range []string{"", "FriendlyName", "Bench service", "<a & b>", "quote\"d", `back\slash`, "tab\t", "é", "\x7f", "\xff", "\u2028"} {
		f.Add(s, s, true)
	}
	f.Fuzz(func(t *testing.T, name, value string, b bool) {
		k, _ := json.Marshal(name)
		for _, v := range []any{value, b, nil, json.Number("12"), map[string]any{name: value, "z": "v"}, map[string]any{}, map[string]any{"n": b}} {
			want, _ := json.Marshal(v)
			got, err := encodeField(nil, name, v)
			if err != nil {
				t.Fatal(err)
			}
			if w := string(k) + ":" + string(want); string(got) != w {
				t.Fatalf("encodeField(%q, %#v) = %s, want %s", name, v, got, w)
			}
		}
	})
}
