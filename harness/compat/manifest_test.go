package compat

import (
	"path/filepath"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/manifest"
)

func TestCompatManifests(t *testing.T) {
	v1, err := manifest.Load(compat("manifest_v1"))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := manifest.Load(compat("manifest_v2"))
	if err != nil {
		t.Fatal(err)
	}
	if got := CompareManifests(v1, v1); len(got) != 0 {
		t.Errorf("a manifest compared with itself: want no changes, got:\n%s", changeList(got))
	}
	tests := []struct {
		reason   string
		id       string
		field    string
		severity contracts.Level
		oldFile  string // base name; "" when no old position is expected
		oldLine  int
		newLine  int // 0 when no new position is expected
	}{
		{"the name changed", RuleManifestNameChanged, "", contracts.LevelError, "connector.yaml", 1, 1},
		{"stable became deprecated", RuleManifestSupportLowered, "", contracts.LevelError, "connector.yaml", 4, 4},
		{"mail:send is requested", RuleManifestScopeAdded, "mail:send", contracts.LevelWarning, "connector.yaml", 10, 10},
		{"chat:write is no longer requested", RuleManifestScopeRemoved, "chat:write", contracts.LevelInfo, "connector.yaml", 10, 10},
		{"chat is gone", RuleManifestVendorRemoved, "chat", contracts.LevelError, "connector.yaml", 7, 5},
		{"crm's contract moved", RuleManifestVendorContract, "crm", contracts.LevelInfo, "connector.yaml", 6, 6},
		{"mail is new", RuleManifestVendorAdded, "mail", contracts.LevelWarning, "connector.yaml", 5, 7},
		{"deal.updated is no longer sent", RuleManifestEventDropped, "deal.updated", contracts.LevelError, "crm.yaml", 5, 9},
	}
	changes := CompareManifests(v1, v2)
	if len(changes) != len(tests) {
		t.Errorf("want %d changes, got:\n%s", len(tests), changeList(changes))
	}
	for _, tt := range tests {
		var c *contracts.Change
		for i := range changes {
			if changes[i].ID == tt.id && changes[i].Field == tt.field {
				c = &changes[i]
			}
		}
		if c == nil {
			t.Errorf("%s: no %s for %q in:\n%s", tt.reason, tt.id, tt.field, changeList(changes))
			continue
		}
		if c.Level != tt.severity {
			t.Errorf("%s: severity %s, want %s", tt.reason, c.Level, tt.severity)
		}
		if c.Old == nil || filepath.Base(c.Old.File) != tt.oldFile || c.Old.Line != tt.oldLine {
			t.Errorf("%s: old position %v, want %s:%d", tt.reason, c.Old, tt.oldFile, tt.oldLine)
		}
		if c.New == nil || c.New.File != manifest.File || c.New.Line != tt.newLine || c.New.Column == 0 {
			t.Errorf("%s: new position %v, want %s:%d with a column", tt.reason, c.New, manifest.File, tt.newLine)
		}
	}
	for _, c := range changes {
		if c.ID == RuleManifestScopeAdded && c.New.Column != 22 {
			t.Errorf("scope-added should point at the scope itself: %v", c.New)
		}
	}
}

func TestCompatManifestSupport(t *testing.T) {
	tests := []struct {
		reason   string
		old, new string
		want     []contracts.Level
	}{
		{"stable to beta is a warning", "stable", "beta", []contracts.Level{contracts.LevelWarning}},
		{"unset counts as stable", "", "beta", []contracts.Level{contracts.LevelWarning}},
		{"beta to deprecated is an error", "beta", "deprecated", []contracts.Level{contracts.LevelError}},
		{"stable to deprecated is an error", "stable", "deprecated", []contracts.Level{contracts.LevelError}},
		{"beta to stable raises support", "beta", "stable", nil},
		{"unchanged", "beta", "beta", nil},
	}
	for _, tt := range tests {
		older := &manifest.Connector{Manifest: &manifest.Manifest{Name: "x", Support: tt.old}}
		newer := &manifest.Connector{Manifest: &manifest.Manifest{Name: "x", Support: tt.new}}
		var got []contracts.Level
		for _, c := range CompareManifests(older, newer) {
			if c.ID != RuleManifestSupportLowered {
				t.Errorf("%s: unexpected %s", tt.reason, c)
			}
			got = append(got, c.Level)
		}
		if len(got) != len(tt.want) || len(got) == 1 && got[0] != tt.want[0] {
			t.Errorf("%s: got %v, want %v", tt.reason, got, tt.want)
		}
	}
}
