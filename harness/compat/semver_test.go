package compat

import (
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
)

func TestSemverParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical form; "" when the version is invalid
	}{
		{"1.4.0", "1.4.0"},
		{"0.0.0", "0.0.0"},
		{"10.20.30", "10.20.30"},
		{"1.0.0-rc.1", "1.0.0-rc.1"},
		{"1.0.0-alpha-1.0a", "1.0.0-alpha-1.0a"},
		{"1.0.0+build.5", "1.0.0+build.5"},
		{"1.0.0-0.3.7+exp.sha.5114f85", "1.0.0-0.3.7+exp.sha.5114f85"},
		{"", ""},
		{"1.4", ""},
		{"1.4.0.1", ""},
		{"v1.4.0", ""},
		{"01.4.0", ""},
		{"1.04.0", ""},
		{"1.4.0-", ""},
		{"1.4.0-rc..1", ""},
		{"1.4.0-01", ""},
		{"1.4.0+", ""},
		{"1.4.0+a_b", ""},
		{"1.4.x", ""},
		{"-1.4.0", ""},
		{"99999999999999999999.0.0", ""},
	}
	for _, tt := range tests {
		v, err := ParseVersion(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParseVersion(%q) = %s, want an error", tt.in, v)
		case tt.want != "" && err != nil:
			t.Errorf("ParseVersion(%q): %v", tt.in, err)
		case tt.want != "" && v.String() != tt.want:
			t.Errorf("ParseVersion(%q) = %s, want %s", tt.in, v, tt.want)
		}
	}
}

func TestSemverOrder(t *testing.T) {
	// In increasing precedence, from semver.org's examples and more.
	ordered := []string{
		"0.9.9",
		"1.0.0-0",
		"1.0.0-2",
		"1.0.0-10",
		"1.0.0-alpha",
		"1.0.0-alpha.1",
		"1.0.0-alpha.beta",
		"1.0.0-beta",
		"1.0.0-beta.2",
		"1.0.0-beta.11",
		"1.0.0-rc.1",
		"1.0.0",
		"1.0.1",
		"1.1.0",
		"1.10.0",
		"2.0.0",
	}
	for i, a := range ordered {
		va, err := ParseVersion(a)
		if err != nil {
			t.Fatal(err)
		}
		for j, b := range ordered {
			vb, _ := ParseVersion(b)
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := va.Compare(vb); got != want {
				t.Errorf("%s vs %s: got %d, want %d", a, b, got, want)
			}
		}
	}
	a, _ := ParseVersion("1.0.0+a")
	b, _ := ParseVersion("1.0.0+b")
	if a.Compare(b) != 0 {
		t.Error("build metadata must not affect precedence")
	}
}

func TestBumpRequired(t *testing.T) {
	change := func(id string, s contracts.Level, affects string) contracts.Change {
		return contracts.Change{ID: id, Level: s, Affects: affects}
	}
	tests := []struct {
		reason  string
		changes []contracts.Change
		want    Bump
	}{
		{"nothing changed", nil, BumpNone},
		{"an info change", []contracts.Change{change(RuleConfigFieldAdded, contracts.LevelInfo, "")}, BumpPatch},
		{"a warning that needs no one to act", []contracts.Change{change(RuleConfigDefaultChanged, contracts.LevelWarning, "")}, BumpPatch},
		{"a scope to approve", []contracts.Change{change(RuleManifestScopeAdded, contracts.LevelWarning, "")}, BumpMinor},
		{"credentials to add", []contracts.Change{change(RuleManifestVendorAdded, contracts.LevelWarning, "")}, BumpMinor},
		{"a default to review", []contracts.Change{change(RuleConfigRequiredFieldWithDefault, contracts.LevelWarning, "")}, BumpMinor},
		{"an unmarked error", []contracts.Change{change(RuleConfigFieldRemoved, contracts.LevelError, "")}, BumpMajor},
		{"an error the connector sees", []contracts.Change{change("response-property-removed", contracts.LevelError, contracts.AffectsConnector)}, BumpMajor},
		{"an error elsewhere in the API", []contracts.Change{change("response-property-removed", contracts.LevelError, contracts.AffectsElsewhere)}, BumpPatch},
		{"the largest wins", []contracts.Change{
			change(RuleConfigFieldAdded, contracts.LevelInfo, ""),
			change(RuleManifestEventDropped, contracts.LevelError, ""),
			change(RuleManifestScopeAdded, contracts.LevelWarning, ""),
		}, BumpMajor},
	}
	for _, tt := range tests {
		if got := RequiredBump(tt.changes); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.reason, got, tt.want)
		}
	}
	if BumpMajor.String() != "major" || Bump(9).String() != "bump(9)" {
		t.Error("Bump.String")
	}
}

func TestBumpCheck(t *testing.T) {
	tests := []struct {
		reason   string
		old, new string
		required Bump
		ok       bool
		why      string // part of the reason when not ok
	}{
		{"nothing needed, same version", "1.2.3", "1.2.3", BumpNone, true, ""},
		{"nothing needed, but never lower", "1.2.3", "1.2.2", BumpNone, false, "lower than"},
		{"a patch for a patch", "1.2.3", "1.2.4", BumpPatch, true, ""},
		{"more than needed is fine", "1.2.3", "2.0.0", BumpPatch, true, ""},
		{"a change needs a higher version", "1.2.3", "1.2.3", BumpPatch, false, "still 1.2.3"},
		{"build metadata is not a release", "1.2.3", "1.2.3+b", BumpPatch, false, "still"},
		{"a minor for a minor", "1.2.3", "1.3.0", BumpMinor, true, ""},
		{"a patch is not enough for a minor", "1.2.3", "1.2.4", BumpMinor, false, "use 1.3.0 or higher"},
		{"a major for a major", "1.2.3", "2.0.0", BumpMajor, true, ""},
		{"a minor is not enough for a major", "1.2.3", "1.3.0", BumpMajor, false, "use 2.0.0 or higher"},
		{"a pre-release of the next major will do", "1.2.3", "2.0.0-rc.1", BumpMajor, true, ""},
		{"from a pre-release to its release", "2.0.0-rc.1", "2.0.0", BumpMajor, true, ""},
		{"between pre-releases", "2.0.0-rc.1", "2.0.0-rc.2", BumpMajor, true, ""},
		{"before 1.0.0 a breaking change needs a minor", "0.3.1", "0.4.0", BumpMajor, true, ""},
		{"before 1.0.0 a patch is not enough to break", "0.3.1", "0.3.2", BumpMajor, false, "a minor one before 1.0.0"},
		{"before 1.0.0 admin action needs a patch", "0.3.1", "0.3.2", BumpMinor, true, ""},
		{"leaving 0.x satisfies anything", "0.3.1", "1.0.0", BumpMajor, true, ""},
		{"an invalid old version", "1.2", "1.3.0", BumpMinor, false, "previous version"},
		{"an invalid new version", "1.2.3", "v1.3.0", BumpMinor, false, "new version"},
	}
	for _, tt := range tests {
		ok, why := CheckBump(tt.old, tt.new, tt.required)
		if ok != tt.ok || !strings.Contains(why, tt.why) || ok && why != "" {
			t.Errorf("%s: CheckBump(%s, %s, %s) = %v, %q", tt.reason, tt.old, tt.new, tt.required, ok, why)
		}
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.4.0", "0.0.0-0", "1.0.0-alpha.1+b.2", "01.0.0", "1.0", "1.0.0-rc..1", "18446744073709551615.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		if v.String() != s {
			t.Fatalf("ParseVersion(%q).String() = %q", s, v.String())
		}
		w, err := ParseVersion(v.String())
		if err != nil || v.Compare(w) != 0 || w.Compare(v) != 0 {
			t.Fatalf("%q does not round-trip: %v", s, err)
		}
	})
}
