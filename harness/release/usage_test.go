package release

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tetherkit/tether/contracts"
	"github.com/tetherkit/tether/harness/compat"
	"github.com/tetherkit/tether/harness/manifest"
)

// The usage a bundle records marks a contract change as the connector's
// own recordings do, and holds no value of them.
func TestRecordedUsageMarksAsTheRecordings(t *testing.T) {
	for _, tc := range []struct {
		example, contract string
		edits             [][2]string
	}{
		{"dealnotify", "crm.openapi.yaml", [][2]string{
			{"        email: {type: string, format: email}\n", ""},
			{"required: [id, name, stage, amount, currency, owner, updated_at]", "required: [id, name, stage, amount, currency, updated_at]"},
		}},
		{"dealnotify", "chat.openapi.yaml", [][2]string{
			{"required: [ok, channel, ts, message]", "required: [ok, channel, ts]"},
			{"        mrkdwn: {type: boolean}\n", ""},
			{"        unfurl_links: {type: boolean}\n", ""},
		}},
		{"escalate", "chat.openapi.yaml", [][2]string{
			{"required: [ok, channel, ts, message]", "required: [ok, channel, ts]"},
			{"            is_member: {type: boolean}\n", ""},
			{"        unfurl_links: {type: boolean}\n", ""},
		}},
	} {
		dir := filepath.Join("..", "..", "connectors", tc.example)
		c, err := manifest.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		oldFile := filepath.Join(dir, "contracts", tc.contract)
		data, err := os.ReadFile(oldFile)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		for _, e := range tc.edits {
			if !strings.Contains(s, e[0]) {
				t.Fatalf("%s: %q is gone; update the test's edits", oldFile, e[0])
			}
			s = strings.Replace(s, e[0], e[1], 1)
		}
		newFile := filepath.Join(t.TempDir(), tc.contract)
		if err := os.WriteFile(newFile, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		changes, err := contracts.CompareFiles(oldFile, newFile)
		if err != nil {
			t.Fatal(err)
		}
		rel := "contracts/" + tc.contract
		own := slices.Clone(changes)
		compat.UsageOf(c, rel).Mark(own)
		recorded := NewRecordedUsage("", rel, compat.UsedOf(c, rel))
		files, err := RecordUsage(c)
		if err != nil {
			t.Fatal(err)
		}
		var fromFile *RecordedUsage
		for p, data := range files {
			u, err := ParseUsage(p, data)
			if err != nil {
				t.Fatal(err)
			}
			if u.Contract == rel {
				fromFile = u
			}
			for _, secret := range []string{"REDACTED", "Bearer", "dana@", "Globex", "C0DEALS001"} {
				if strings.Contains(string(data), secret) {
					t.Errorf("%s %s holds a value, %q", tc.example, p, secret)
				}
			}
		}
		if fromFile == nil {
			t.Fatalf("%s: no usage file for %s among %d", tc.example, rel, len(files))
		}
		affects := 0
		for _, u := range []*RecordedUsage{recorded, fromFile} {
			marked := slices.Clone(changes)
			u.Usage().Mark(marked)
			for i := range marked {
				if marked[i].Affects != own[i].Affects {
					t.Errorf("%s %s: %s marked %s from the record, %s from the recordings", tc.example, tc.contract, marked[i], marked[i].Affects, own[i].Affects)
				}
			}
		}
		for _, c := range own {
			if c.Affects == contracts.AffectsConnector {
				affects++
			}
		}
		if affects == 0 || affects == len(own) {
			t.Errorf("%s %s: %d of %d changes affect it; the test wants both kinds", tc.example, tc.contract, affects, len(own))
		}
	}
}
