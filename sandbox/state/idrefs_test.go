package state

import (
	"encoding/json"
	"maps"
	"reflect"
	"testing"
)

// The template's identifier is followed where it stands alone in a value,
// never inside a longer word, and only for identifiers long enough to
// mean themselves and new ones a URL holds as they are.
func TestIDRefs(t *testing.T) {
	src := map[string]any{
		"sid":   "MGaaaa",
		"url":   "https://x.example/v1/Services/MGaaaa",
		"links": map[string]any{"messages": "https://x.example/v1/Services/MGaaaa/Messages"},
		"list":  []any{"/a/MGaaaa?x=1", "no"},
		"word":  "MGaaaaX and XMGaaaa",
		"name":  "My Service",
	}
	var r idRefs
	r.refsOf(src, "sid")
	got := r.rewrite(src, "MGbbbb")
	want := map[string]any{
		"url":   "https://x.example/v1/Services/MGbbbb",
		"links": map[string]any{"messages": "https://x.example/v1/Services/MGbbbb/Messages"},
		"list":  []any{"/a/MGbbbb?x=1", "no"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rewritten: %v, want %v", got, want)
	}
	if src["url"] != "https://x.example/v1/Services/MGaaaa" {
		t.Errorf("the template changed: %v", src["url"])
	}
	for _, id := range []any{"MGaaaa", "a b", "a/b", ""} {
		if got := r.rewrite(src, id); got != nil {
			t.Errorf("rewrite for %q: %v, want none", id, got)
		}
	}
	var short idRefs
	if short.refsOf(map[string]any{"id": "42", "url": "/x/42"}, "id"); short.id != "" {
		t.Errorf("an identifier of 2 characters is followed into %v", short.fields)
	}
}

// A field that holds the identifier may skip validation only where no
// constraint of its schema could refuse another identifier in its place.
func TestFreeForID(t *testing.T) {
	spec := `openapi: 3.0.3
info: {title: t, version: "1"}
paths: {}
components:
  schemas:
    url: {type: string, format: uri}
    links: {type: object, format: uri-map, nullable: true}
    nested: {type: object, properties: {self: {type: string, format: uri}}}
    pattern: {type: string, pattern: "^https://"}
    long: {type: string, maxLength: 40}
    date: {type: string, format: date-time}
    deep: {type: object, properties: {self: {type: string, maxLength: 3}}}
    items: {type: array, items: {type: string, format: uuid}}
`
	schema := componentSchemas(t, spec)
	for name, want := range map[string]bool{"url": true, "links": true, "nested": true, "pattern": false, "long": false, "date": false, "deep": false, "items": false} {
		if got := freeForID(schema(name), 0); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// A new item written from the template's split encoding is byte for byte
// the item rewritten and written whole.
func TestEncodeSetFollowsID(t *testing.T) {
	src := map[string]any{
		"sid":   "MGaaaa",
		"url":   "https://x.example/v1/Services/MGaaaa",
		"links": map[string]any{"messages": "https://x.example/v1/Services/MGaaaa/Messages", "b": "/MGaaaa/MGaaaa"},
		"odd":   "<MGaaaa>",
		"name":  "My Service",
	}
	like := &itemEncoding{src: src, idField: "sid"}
	for _, id := range []string{"MGbbbb", "MGaaaa", "a b"} {
		set := map[string]any{"sid": id, "name": "new"}
		got, ok := encodeSet(set, like, id)
		whole := maps.Clone(src)
		maps.Copy(whole, set)
		maps.Copy(whole, like.refs.rewrite(src, id))
		want, err := json.Marshal(whole)
		if err != nil {
			t.Fatal(err)
		}
		if id == "MGbbbb" && !ok {
			t.Errorf("%s: not written from the split encoding", id)
		}
		if ok && string(got) != string(want) {
			t.Errorf("%s: written\n%s\nwant\n%s", id, got, want)
		}
	}
}
