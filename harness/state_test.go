package harness

import (
	"strings"
	"testing"

	"github.com/tetherkit/tether/internal/jsonpath"
	"github.com/tetherkit/tether/sandbox/state"
)

func TestCompareItems(t *testing.T) {
	held := []state.Entry{
		{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 1.0, "title": "a", "state": "open", "updated_at": "t1"}},
		{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 2.0, "title": "b", "state": "closed", "updated_at": "t2"}},
	}
	ignoreTime, _ := jsonpath.Parse("$.updated_at")
	tests := []struct {
		name   string
		want   []state.Entry
		ignore []jsonpath.Path
		diff   string // "" for a match, else a part of the message
	}{
		{"fields given match, in any order", []state.Entry{
			{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"title": "b", "state": "closed"}},
			{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 1, "state": "open"}},
		}, nil, ""},
		{"a field differs", []state.Entry{
			{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 1, "state": "closed"}},
			{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 2}},
		}, nil, `item 1 differs`},
		{"fewer expected than held", []state.Entry{
			{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 1}},
		}, nil, "2 items held, 1 expected"},
		{"an identifier not held", []state.Entry{
			{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 9}},
			{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 2}},
		}, nil, "item 1 is not held"},
		{"other parent keys", []state.Entry{
			{Keys: map[string]string{"owner": "else"}, Object: map[string]any{"number": 1}},
			{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 2}},
		}, nil, "item 1 differs"},
		{"an ignored field", []state.Entry{
			{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 1, "updated_at": "later"}},
			{Keys: map[string]string{"owner": "octo"}, Object: map[string]any{"number": 2}},
		}, []jsonpath.Path{ignoreTime}, ""},
	}
	for _, tc := range tests {
		got := compareItems(tc.want, held, "number", tc.ignore)
		if (tc.diff == "") != (got == "") || !strings.Contains(got, tc.diff) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.diff)
		}
	}
}
