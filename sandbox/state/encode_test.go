package state

import (
	"encoding/json"
	"maps"
	"regexp"
	"testing"
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
	}
}
