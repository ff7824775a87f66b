package release

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
)

// releaseManifest is dealnotify's manifest as if at version.
func releaseManifest(t *testing.T, version string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Read(dealnotifyDir)
	if err != nil {
		t.Fatal(err)
	}
	m.Version = version
	return m
}

// scopeAndTemplate is a comparison of 1.2.0 with 1.1.0 in which the
// connector asks for deals:write, drops the template setting, and the CRM
// API changed both in what the connector calls and elsewhere.
func scopeAndTemplate() *compat.ReleaseComparison {
	return &compat.ReleaseComparison{
		Baseline: "v1.1.0", BaselineVersion: "1.1.0", Version: "1.2.0",
		RequiredBump: "minor", Satisfied: true,
		Changes: []contracts.Change{
			{ID: compat.RuleManifestScopeAdded, Level: contracts.LevelWarning, Field: "deals:write",
				Message: compat.Summary(compat.RuleManifestScopeAdded) + ": deals:write",
				New:     &contracts.Position{File: "connector.yaml", Line: 12}},
			{ID: compat.RuleConfigFieldRemoved, Level: contracts.LevelWarning, Field: "$.template",
				Message: compat.Summary(compat.RuleConfigFieldRemoved) + ": $.template",
				Old:     &contracts.Position{File: "v1.1.0/config.schema.json", Line: 35}},
			{ID: "api-security-scope-added", Level: contracts.LevelWarning, Method: "GET", Path: "/deals/{dealId}",
				Message: "GET /deals/{dealId} now requires the scope deals:read of oauth", Affects: contracts.AffectsConnector,
				Old: &contracts.Position{File: "v1.1.0/contracts/crm.openapi.yaml", Line: 65},
				New: &contracts.Position{File: "contracts/crm.openapi.yaml", Line: 65}},
			{ID: "request-parameter-removed", Level: contracts.LevelWarning, Method: "GET", Path: "/deals", Param: "query:owner",
				Message: "query parameter owner was removed", Affects: contracts.AffectsElsewhere,
				Old: &contracts.Position{File: "v1.1.0/contracts/crm.openapi.yaml", Line: 30}},
		},
	}
}

// sections splits Markdown at its "## " headings, by heading.
func sections(md string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split("\n"+md, "\n## ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		out[title] = body
	}
	return out
}

func TestReleaseNotesNameChangedScopeAndConfigField(t *testing.T) {
	notes := string(ReleaseNotes(releaseManifest(t, "1.2.0"), scopeAndTemplate(), nil))
	s := sections(notes)
	for _, tc := range []struct {
		section, want, reason string
	}{
		{"For admins", "Scope `deals:write` added", "the added scope is named"},
		{"For admins", "must approve the connector again, with this scope", "an added scope needs the admin's approval"},
		{"For admins", "`$.template`: a field was removed", "the removed config field is named with what changed"},
		{"Vendor API changes that affect this connector", "### crm\n\n#### GET /deals/{dealId}\n\n- **warning** `api-security-scope-added`",
			"a change the connector sees is under its vendor and operation, with its severity"},
		{"Vendor API changes that affect this connector", "1 other change is in parts of the vendor APIs this connector does not use",
			"changes elsewhere are counted, not listed"},
		{"Version", "require a **minor** release", "the required bump is given"},
		{"Version", "`manifest-scope-added`: `deals:write`", "the change that requires the bump is named"},
		{"Version", "Version 1.2.0 satisfies this.", "the verdict on the declared version is given"},
	} {
		if !strings.Contains(s[tc.section], tc.want) {
			t.Errorf("%s: section %q lacks %q:\n%s", tc.reason, tc.section, tc.want, notes)
		}
	}
	if strings.Contains(s["Vendor API changes that affect this connector"], "query:owner") {
		t.Errorf("a change elsewhere is listed:\n%s", notes)
	}
	if strings.Contains(s["Version"], "config-field-removed") {
		t.Errorf("a change that needs only a patch release is named as requiring a minor one:\n%s", notes)
	}
	if _, ok := s["Changelog"]; ok {
		t.Errorf("a changelog section without a changelog:\n%s", notes)
	}
}

func TestReleaseNotesUnsatisfiedVersionSaysWhy(t *testing.T) {
	cmp := scopeAndTemplate()
	cmp.Version, cmp.Satisfied = "1.1.1", false
	cmp.Why = "the changes need a minor release, but 1.1.0 to 1.1.1 is a patch release; use 1.2.0 or higher"
	notes := string(ReleaseNotes(releaseManifest(t, "1.1.1"), cmp, nil))
	if want := "Version 1.1.1 does not satisfy this: " + cmp.Why + "."; !strings.Contains(sections(notes)["Version"], want) {
		t.Errorf("the notes lack %q:\n%s", want, notes)
	}
}

func TestReleaseNotesChangelogPickedByVersion(t *testing.T) {
	changelog, err := os.ReadFile(filepath.Join("testdata", "notes", "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		version       string
		want, notWant []string
		reason        string
	}{
		{"1.2.0",
			[]string{"Deals can now be moved to a stage from chat.", "### Added\n\n- The connector asks for deals:write",
				"```markdown\n## 1.1.0 inside a code block is not a heading\n```"},
			[]string{"Posts the deal's owner", "First release.", "2026-11-01", "All notable changes"},
			"a heading with brackets and a date; a heading inside a code block does not end the section"},
		{"1.1.0", []string{"- Posts the deal's owner."}, []string{"Deals can now", "First release.", "inside a code block"},
			"a plain heading, ended by the next"},
		{"1.0.0", []string{"- First release."}, []string{"Posts the deal's owner", "Deals can now"},
			"the last section, ended by the file"},
	} {
		notes := string(ReleaseNotes(releaseManifest(t, tc.version), nil, changelog))
		// The section is the last, and may hold "## " inside a code block.
		_, got, ok := strings.Cut(notes, "\n## Changelog\n")
		if !ok {
			t.Errorf("%s: %s: no changelog section:\n%s", tc.reason, tc.version, notes)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %s: the changelog section lacks %q:\n%s", tc.reason, tc.version, w, got)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: %s: the changelog section holds %q:\n%s", tc.reason, tc.version, w, got)
			}
		}
	}
	for _, version := range []string{"1.3.0", "1.2.01", "2.0.0"} {
		if notes := ReleaseNotes(releaseManifest(t, version), nil, changelog); bytes.Contains(notes, []byte("## Changelog")) {
			t.Errorf("%s is not in the changelog, yet the notes have a changelog section:\n%s", version, notes)
		}
	}
}

func TestReleaseNotesFirstRelease(t *testing.T) {
	notes := string(ReleaseNotes(releaseManifest(t, "1.0.0"), nil, nil))
	s := sections(notes)
	for _, tc := range []struct{ section, want string }{
		{"For admins", "`deals:read`, `chat:write`"},
		{"Vendor API changes that affect this connector", "first release"},
		{"Version", "1.0.0 is the first release, so no bump is required."},
	} {
		if !strings.Contains(s[tc.section], tc.want) {
			t.Errorf("section %q lacks %q:\n%s", tc.section, tc.want, notes)
		}
	}
	if !strings.Contains(notes, "First release: there is no earlier release to compare it with.") {
		t.Errorf("the notes do not say this is a first release:\n%s", notes)
	}
}

func TestReleaseNotesAreDeterministic(t *testing.T) {
	changelog, err := os.ReadFile(filepath.Join("testdata", "notes", "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := releaseManifest(t, "1.2.0")
	first := ReleaseNotes(m, scopeAndTemplate(), changelog)
	for range 20 {
		if again := ReleaseNotes(m, scopeAndTemplate(), changelog); !bytes.Equal(first, again) {
			t.Fatalf("two calls differ:\n%s\n---\n%s", first, again)
		}
	}
}

func TestReleaseNotesEscapeInputs(t *testing.T) {
	m := releaseManifest(t, "1.2.0")
	m.Summary = "Posts *deals* to <chat>\n# not a heading"
	cmp := scopeAndTemplate()
	cmp.Changes[1].Field = "$.a`b"
	cmp.Changes[1].Message = compat.Summary(compat.RuleConfigFieldRemoved) + ": $.a`b"
	notes := string(ReleaseNotes(m, cmp, nil))
	for _, want := range []string{`Posts \*deals\* to \<chat\><br># not a heading`, "``$.a`b``"} {
		if !strings.Contains(notes, want) {
			t.Errorf("the notes lack %q:\n%s", want, notes)
		}
	}
}

func ExampleReleaseNotes() {
	m := &manifest.Manifest{Name: "dealnotify", Version: "1.1.0", Summary: "Posts CRM deal changes to a chat channel",
		Scopes: []string{"deals:read", "chat:write"}}
	cmp := &compat.ReleaseComparison{BaselineVersion: "1.0.0", Version: "1.1.0", RequiredBump: "minor", Satisfied: true,
		Changes: []contracts.Change{{ID: compat.RuleManifestScopeAdded, Level: contracts.LevelWarning, Field: "chat:write",
			Message: "a scope was added; an admin must approve the connector again: chat:write"}}}
	changelog := []byte("# Changelog\n\n## 1.1.0\n\n- Posts to chat.\n\n## 1.0.0\n\n- First release.\n")
	os.Stdout.Write(ReleaseNotes(m, cmp, changelog))
	// Output:
	// # dealnotify 1.1.0
	//
	// Posts CRM deal changes to a chat channel
	//
	// Compared with 1.0.0.
	//
	// ## For admins
	//
	// ### Scopes
	//
	// - Scope `chat:write` added: an admin must approve the connector again, with this scope, before upgrading.
	//
	// ## Vendor API changes that affect this connector
	//
	// None.
	//
	// ## Version
	//
	// The changes since 1.0.0 require a **minor** release, because of:
	//
	// - `manifest-scope-added`: `chat:write`
	//
	// Version 1.1.0 satisfies this.
	//
	// ## Changelog
	//
	// - Posts to chat.
}
