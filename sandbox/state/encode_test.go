package state

import (
	"encoding/json"
	"maps"
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
