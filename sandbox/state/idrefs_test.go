package state

import (
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
