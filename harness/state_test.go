package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/connectors/escalate"
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

// The resource model's corrections beside a vendor's contract are read by
// the harness's sandbox as by `tether sandbox serve`: a mistake in them
// stops the run, naming the file and line.
func TestModelOverridesBesideContract(t *testing.T) {
	dir := copyDir(t, escalateDir)
	bad := "resources:\n  incidents:\n    pagination: sideways\n"
	if err := os.WriteFile(filepath.Join(dir, "contracts", "incident.openapi.yaml.model.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(t.Context(), dir, t.TempDir(), Drive(InProcess(escalate.Setup)))
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range s.Checks() {
		if !strings.HasPrefix(pc.Path(), "replay/urgent") {
			continue
		}
		_, err := pc.Run(t.Context())
		if err == nil || !strings.Contains(err.Error(), "incident.openapi.yaml.model.yaml:3") {
			t.Fatalf("%s: %v, want an error at the overrides file's line 3", pc.Path(), err)
		}
		return
	}
	t.Fatal("no replay/urgent check planned")
}
